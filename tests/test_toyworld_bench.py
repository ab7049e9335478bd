"""`bench --quality`: the report's arithmetic and the CLI's refusals (no training needed)."""

import subprocess
import sys

from clipig_nodes.toyworld.quality import (SETTINGS, RunScore, SettingResult, epochs_to_reach,
                                           report)


def test_epochs_to_reach_is_the_first_snapshot_at_the_goal():
    assert epochs_to_reach([0.1, 0.3, 0.5, 0.4], 0.3, 10, 40) == 20
    assert epochs_to_reach([0.1, 0.3], 0.3, 10, 15) == 15      # the last score is the end's
    assert epochs_to_reach([0.1, 0.2], 0.3, 10, 20) is None


def _result(setting, curves, in_role, hf):
    result = SettingResult(setting)
    for seed, curve in enumerate(curves):
        result.runs[seed, 0] = RunScore(curve, in_role, 0.5, hf)
    return result


def test_report_compares_every_setting_with_pixels_of_the_same_seed():
    pixels = _result(SETTINGS[0], [[0.1, 0.2, 0.4], [0.1, 0.3, 0.6], [0.0, 0.2, 0.5]], False, 0.4)
    fast = _result(SETTINGS[2], [[0.1, 0.5, 0.5], [0.7, 0.7, 0.7], [0.1, 0.1, 0.6]], True, 0.1)
    slow = _result(SETTINGS[4], [[0.0, 0.0, 0.0]] * 3, True, 0.2)
    lines = report([pixels, fast, slow], epochs=20, every=10).splitlines()
    assert lines[1].split() == ["pixels", "0.500", "20", "0.400", "0/1"]
    # reached after 20, 10 and 20 epochs: median 20
    assert lines[2].split() == ["fourier", "0.600", "20", "0.100", "1/1"]
    assert lines[3].split() == ["pyramid", "0.000", ">20", "0.200", "1/1"]


def test_unknown_setting_is_refused_with_one_line():
    done = subprocess.run([sys.executable, "main.py", "bench", "--quality", "--settings",
                           "pixels,sparkles"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "unknown setting 'sparkles'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_bad_counts_are_refused(capsys):
    import argparse
    from clipig_nodes.cli import bench_cmd

    parser = argparse.ArgumentParser()
    bench_cmd.add_arguments(parser)
    assert bench_cmd.run(parser.parse_args(["--quality", "--prompts", "11"])) == 2
    assert "--prompts: must be 1..10, got 11" in capsys.readouterr().err
    assert bench_cmd.run(parser.parse_args(["--quality", "--seeds", "0"])) == 2
    assert "--seeds: must be 1..N, got 0" in capsys.readouterr().err
