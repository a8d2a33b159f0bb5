import time
_f = open("/tmp/h4-trace.log", "a", buffering=1)
def tr(tag, key):
    _f.write(f"{time.perf_counter():.6f} {tag} {key}\n")
