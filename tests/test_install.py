"""From `pip install` to a GPU node (issue 25): packaged configs and sweep files by name, extras that
match use with one-line messages, honest pins and the lock, gradgroup-doctor, gradgroup-bench --device."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import gradgroup.errors as errors
from gradgroup.config import compose
from gradgroup.errors import MissingExtra, require_extra
from helpers import run_cli

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ONE_LINE = r"needs the \[{0}\] extra \([^\n]*not installed\): pip install 'gradgroup\[{0}\]'"


# ------------------------------------------------------------------------------ configs inside the package
def test_a_checkout_reads_its_own_conf_and_sweeps():
    assert compose.CONF_ORIGIN in ("checkout", "GRADGROUP_CONF_DIR") and compose.IN_CHECKOUT
    assert compose.SWEEPS_SOURCE == f"file://{REPO / 'sweeps'}"
    assert (REPO / "conf" / "__init__.py").is_file() and (REPO / "sweeps" / "__init__.py").is_file()  # pkg:// needs them


def test_the_wheel_lists_every_config_folder_as_package_data():
    """setup.py's package list: src's packages, and conf/ + sweeps/ with every sub-folder (YAML as data)."""
    out = subprocess.run([sys.executable, "-c", "import setuptools, sys; sys.argv=['setup.py','-q','--name'];"
                          "captured={}; setuptools.setup=lambda **kw: captured.update(kw); "
                          "exec(open('setup.py').read()); print(sorted(captured['packages'])); "
                          "print(sorted(captured['package_data']))"], cwd=REPO, capture_output=True, text=True)
    packages = eval(out.stdout.splitlines()[0])
    assert {"gradgroup", "gradgroup.cli", "hydra_plugins.gradgroup_configs", "hydra_plugins.gradgroup_search",
            "gradgroup.conf", "gradgroup.conf.experiment.table3", "gradgroup.conf.hydra.launcher",
            "gradgroup.sweeps"} <= set(packages)
    folders = {p.relative_to(REPO / "conf") for p in (REPO / "conf").rglob("*") if p.is_dir() and p.name != "__pycache__"}
    assert {f"gradgroup.conf.{'.'.join(f.parts)}" for f in folders} <= set(packages)
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"": "src", "gradgroup.conf": "conf",
                                                              "gradgroup.sweeps": "sweeps"}


def test_a_sweep_file_is_found_by_name_from_any_directory(data_cache, tmp_path):
    proc = run_cli(["gradgroup.cli.train", "--config-name", "table3", "preset=smoke", "--cfg", "hydra"],
                   data_cache, tmp_path)
    assert "experiment: table3/erfnet,table3/d" in proc.stdout and "mode: MULTIRUN" in proc.stdout


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_trains_sweeps_and_tables_outside_the_repository(tmp_path):
    """scripts/wheel_check.sh (make test-wheel): minutes, and the packages from PyPI or pip's cache."""
    proc = subprocess.run([str(REPO / "scripts" / "wheel_check.sh")], capture_output=True, text=True, timeout=3000,
                          env={**__import__("os").environ, "WORK": str(tmp_path / "w")})
    assert proc.returncode == 0 and "wheel-check: OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


# ------------------------------------------------------------------------------ extras
def test_the_core_installs_no_extra_and_each_extra_matches_its_use():
    core = " ".join(PYPROJECT["project"]["dependencies"])
    for name in ("onnx", "onnxruntime", "optuna", "submitit", "cityscapesscripts"):
        assert not re.search(rf"\b{name}\b", core), name
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"deploy", "deploy-gpu", "search", "cluster", "cityscapes", "dev"} <= set(extras)
    assert "onnxruntime-gpu>=1.18" in extras["deploy-gpu"] and "optuna>=5" in extras["search"]
    assert "gradgroup[deploy,search,cluster,cityscapes]" in extras["dev"]


@pytest.fixture
def nothing_installed(monkeypatch):
    monkeypatch.setattr(errors, "EXTRAS", {k: ("gradgroup_no_such_module",) for k in errors.EXTRAS})


def test_a_missing_extra_is_named_in_one_line(nothing_installed):
    with pytest.raises(MissingExtra, match=ONE_LINE.format("search")) as e:
        require_extra("search", "gradgroup-search")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("command, argv, extra", [
    ("export", ["experiment=table3/dg4"], "deploy"),
    ("search", ["report", "."], "search"),
    ("eval", [".", "--official"], "cityscapes"),
    ("bench", ["table3/dg4", "--backend", "onnxruntime"], "deploy"),
])
def test_commands_of_a_missing_extra_say_which_in_one_line(nothing_installed, capsys, command, argv, extra):
    main = __import__(f"gradgroup.cli.{command}", fromlist=["main"]).main
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and re.search(ONE_LINE.format(extra), err) and err.count("\n") == 1, err


def test_a_launcher_of_a_missing_extra_is_named_before_hydra_starts(nothing_installed, monkeypatch, capsys):
    from gradgroup.cli.train import main

    monkeypatch.setattr(sys, "argv", ["gradgroup-train", "-m", "hydra/launcher=slurm", "preset=smoke"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2 and re.search(ONE_LINE.format("cluster"), capsys.readouterr().err)


# ------------------------------------------------------------------------------ pins and the lock
def test_pins_match_the_code_and_the_tested_set():
    deps = PYPROJECT["project"]["dependencies"]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert "albumentations>=2.0" in deps and "torch>=2.13" in deps
    lock = dict(line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    lock = {k.lower(): v for k, v in lock.items()}
    assert lock["torch"] == "2.13.0" and "gradgroup" not in lock  # no local build tag: CPU and CUDA builds alike
    for dep in deps + PYPROJECT["project"]["optional-dependencies"]["search"]:
        name = re.split(r"[<>=\[ ]", dep)[0].lower()
        assert name in lock, f"{name} is not locked in constraints.txt"
    assert int(lock["albumentations"].split(".")[0]) >= 2 and int(lock["optuna"].split(".")[0]) >= 5
    assert "-c $(CONSTRAINTS)" in (REPO / "Makefile").read_text()


# ------------------------------------------------------------------------------ doctor and the device option
def test_the_doctor_reports_the_install_and_ends_in_a_verdict(capsys):
    from gradgroup.cli.doctor import main

    with pytest.raises(SystemExit) as e:
        main([])
    out = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 0 and out[-1].startswith("verdict: READY to train on")
    text = "\n".join(out)
    for part in ("torch 2.", "cuDNN", "CUDA devices:", "extras: [deploy]", "configs: ", "compose: composes", "data: "):
        assert part in text, part
    with pytest.raises(SystemExit) as e:
        main(["--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["configs"]["origin"] in ("checkout", "GRADGROUP_CONF_DIR") and report["configs"]["composes"]
    assert set(report["extras"]) == {"deploy", "search", "cluster", "cityscapes"}


def test_the_doctor_fails_a_gpu_requirement_on_a_cpu_host(capsys):
    import torch

    from gradgroup.cli.doctor import main

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    with pytest.raises(SystemExit) as e:
        main(["--require-gpu"])
    assert e.value.code == 1 and "verdict: NOT READY for GPU training" in capsys.readouterr().out


def test_bench_on_cuda_without_cuda_says_why(capsys):
    import torch

    from gradgroup.cli.bench import main

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    with pytest.raises(SystemExit) as e:
        main(["table3/dg4", "--device", "cuda"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--device cuda needs a CUDA device" in err and err.count("\n") == 1


def test_the_device_bench_path_runs_on_the_cpu_in_the_latency_format(capsys, tmp_path):
    """--device cpu:0 takes the device path (measure/device_latency.py, deploy/device_runtimes.py) on the CPU."""
    from gradgroup.cli.bench import main

    out = tmp_path / "lat.json"
    main(["table3/dg4", "--device", "cpu:0", "--backend", "eager", "--backend", "optimized", "--size", "64x32",
          "--rounds", "2", "--warmup", "1", "--json", "--out", str(out)])
    res = json.loads(out.read_text())
    assert set(res["by_backend"]) == {"eager", "optimized"} and res["_meta"]["device"] == "cpu:0"
    row = res["by_backend"]["optimized"]["table3/dg4"]
    assert row["ms"]["64x32"] > 0 and res["by_backend"]["eager"]["table3/erfnet"]["speedup_vs_erfnet"]["64x32"] == 1.0
    assert res["_meta"]["timer"] == "wall clock" and res["matmul"]["gflops"]["64x32"] > 0
