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


def test_grid_puts_each_setting_in_a_row_and_each_prompt_in_a_column():
    import torch

    from clipig_nodes.toyworld.quality import LABEL_WIDTH, grid
    results = []
    for row, setting in enumerate(SETTINGS[:2]):
        result = SettingResult(setting)
        for prompt in range(3):
            image = torch.zeros(3, 8, 8, dtype=torch.uint8)
            image[0], image[1] = 100 * row, 50 * prompt
            result.runs[0, prompt] = RunScore([0.5], True, 0.5, 0.1, image)
            result.runs[1, prompt] = RunScore([0.5], True, 0.5, 0.1, image + 1)  # another seed
        results.append(result)
    sheet = grid(results, seed=0, scale=2)
    assert sheet.size == (LABEL_WIDTH + 3 * 16, 2 * 16)
    for row in range(2):
        for prompt in range(3):
            x, y = LABEL_WIDTH + prompt * 16 + 8, row * 16 + 8
            assert sheet.getpixel((x, y)) == (100 * row, 50 * prompt, 0)


def test_grid_path_is_refused_before_any_run(tmp_path):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    for value, message in ((taken, "exists (bench never overwrites a file)"),
                           (tmp_path / "no" / "g.png", "does not exist"),
                           (tmp_path / "g.jpg", "must end in .png")):
        done = subprocess.run([sys.executable, "main.py", "bench", "--quality", "--grid",
                               str(value)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert taken.read_bytes() == b"mine"
