"""A local Message Batches API for tests, demos and offline use (stdlib + orjson only).

``make_app(data_dir, config, clock)`` is a WSGI app; ``EmulatorServer(app)`` serves it over
HTTP on loopback; ``batchctl --emulator`` mounts the same app in process.
"""

from batchctl.emulator.app import make_app
from batchctl.emulator.config import EMULATOR_API_KEY, EmulatorConfig
from batchctl.emulator.faults import ReplyLost
from batchctl.emulator.server import EmulatorServer

__all__ = ["EMULATOR_API_KEY", "EmulatorConfig", "EmulatorServer", "ReplyLost", "make_app"]
