"""``python -m sensebutler.simulator [OPTIONS]``: the ``sensebutler simulator`` command on its own."""

from sensebutler.simulator.cli import simulator_app

simulator_app()(prog_name="sensebutler simulator")
