"""The benchmark tools run: benches/tools/step_profile.py names every part of a training step (what the parts
take is not checked: speed lives in benches/)."""
import re
import subprocess
import sys

from .cli_run import ROOT, module_env


def test_step_profile_times_every_part_of_the_mlp_step():
    run = subprocess.run([sys.executable, str(ROOT / "benches" / "tools" / "step_profile.py"), "--epochs", "1",
                          "--batch", "500"], capture_output=True, text=True, env=module_env(), cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    parts = dict(re.findall(r"^\s+(\S.*?)\s+([0-9.]+)$", run.stdout, re.M))
    expected = ["fit", "bare loop", "gather", "Flatten 0 forward", "loss and accuracy", "optimizer",
                "sum of the parts"] + [f"Dense {i} {way}" for i in (1, 2, 3) for way in ("forward", "backward")]
    assert set(expected) <= set(parts), run.stdout
    assert "batch 500" in run.stdout
