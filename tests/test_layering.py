"""Golden models and cost models stay free of hardware: importing any of their modules loads
neither Amaranth nor the cores (DESIGN.md: "golden models never import hardware code")."""
import json
import subprocess
import sys

PACKAGES = ("hwgen.golden", "hwgen.cost")
FORBIDDEN = ("amaranth", "hwgen.cores")

# Imports every module of PACKAGES in turn in a fresh interpreter and reports, per module,
# the forbidden modules that importing it pulled in.
PROBE = f"""
import importlib, json, pkgutil, sys
forbidden = {FORBIDDEN!r}
def loaded():
    return {{name for name in sys.modules if any(name == f or name.startswith(f + ".")
                                                for f in forbidden)}}
found = {{}}
for package_name in {PACKAGES!r}:
    package = importlib.import_module(package_name)
    names = [package_name] + [info.name for info in pkgutil.walk_packages(
        package.__path__, package_name + ".")]
    for name in names:
        before = loaded()
        importlib.import_module(name)
        new = sorted(loaded() - before)
        if new:
            found[name] = new
print(json.dumps(found))
"""


def test_golden_and_cost_models_import_no_hardware_code():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            check=True)
    offenders = json.loads(result.stdout)
    assert offenders == {}, "; ".join(f"{module} loads {', '.join(new[:4])}"
                                      for module, new in offenders.items())
