"""Runs a Python module's command line with `offline_schemas` loaded first.

Usage: run_offline.py MODULE [ARGS...]   e.g. run_offline.py stac_api_validator --root-url ...
"""
import runpy
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import offline_schemas  # noqa: E402,F401  (patches HTTP before the module loads)

module = sys.argv[1]
sys.argv = [module] + sys.argv[2:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
