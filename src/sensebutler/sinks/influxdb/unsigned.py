"""The unsigned-integer marker, in its own module: the compiled hot path (``sensebutler/hotpath``)
shares this one class with the pure modules (mypyc cannot compile a subclass of ``int``)."""


class Unsigned(int):
    """An integer to be written as an InfluxDB unsigned integer (``u`` suffix)."""

    __slots__ = ()
