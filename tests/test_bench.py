"""The latency benchmark: measure.latency (interleaved, several backends, spread, GFLOP/s),
gradgroup-bench (backends, sizes W x H, --profile, --sweep -> latency.json) and the table reading it."""
import json

import pytest
import torch

from gradgroup.measure.latency import measure_latency, parse_size, single_backend


def _tiny(width: int):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.ReLU()).eval()

    def prepare(w, h):
        x = torch.randn(1, 3, h, w)
        return lambda: model(x)
    return prepare


def test_latency_is_measured_side_by_side_on_every_backend_with_erfnet_as_reference():
    prepared = {b: {"small": _tiny(4), "table3/erfnet": _tiny(16)} for b in ("eager", "other")}
    macs = {"small": {"64x32": 2048 * 108}, "table3/erfnet": {"64x32": 2048 * 432}}
    res = measure_latency(prepared, sizes=[(64, 32)], rounds=3, warmup=1, threads=1, macs=macs, progress=False)
    meta, by = res["_meta"], res["by_backend"]
    assert list(by) == ["eager", "other"] and meta["threads"] == 1 and meta["batch"] == 1 and meta["size"] == "WxH"
    for rows in by.values():
        assert list(rows) == ["table3/erfnet", "small"]
        ref, small = rows["table3/erfnet"], rows["small"]
        assert ref["speedup_vs_erfnet"]["64x32"] == pytest.approx(1.0)
        assert small["speedup_vs_erfnet"]["64x32"] == pytest.approx(ref["ms"]["64x32"] / small["ms"]["64x32"])
        assert small["iqr_ms"]["64x32"] >= 0
        assert small["gflops"]["64x32"] == pytest.approx(2 * 2048 * 108 / (small["ms"]["64x32"] * 1e6))
    assert res["matmul"]["gflops"]["64x32"] > 0 and isinstance(meta["warnings"], list) and meta["simd"]
    impls = res["matmul"]["by_impl"]  # the machine's rate: the fastest BLAS at hand
    assert "torch.mm" in impls and res["matmul"]["gflops"]["64x32"] == max(v["64x32"] for v in impls.values())
    flat = single_backend(res, "other")
    assert flat["_meta"]["backend"] == "other" and flat["small"] == by["other"]["small"]


def test_latency_needs_its_reference_and_sizes_are_w_by_h():
    from gradgroup.errors import ConfigError

    with pytest.raises(ConfigError, match="reference model 'table3/erfnet'"):
        measure_latency({"eager": {"small": _tiny(4)}}, sizes=[(8, 8)], rounds=1, progress=False)
    assert parse_size("1024x512") == (1024, 512)
    with pytest.raises(ConfigError, match="W x H"):
        parse_size("512")


def test_bench_cli_two_models_two_backends_at_a_small_size(capsys):
    from gradgroup.cli.bench import main

    main(["table3/dg4", "table4/dg4_proposed", "--backend", "eager", "--backend", "onnxruntime",
          "--size", "64x32", "--rounds", "1", "--warmup", "0", "--threads", "1", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert list(res["by_backend"]) == ["eager", "onnxruntime"]
    assert res["_meta"]["fastest_fp32"] in ("eager", "onnxruntime") and res["_meta"]["output"] == "labels"
    for rows in res["by_backend"].values():
        assert list(rows) == ["table3/erfnet", "table3/dg4", "table4/dg4_proposed"]
        assert all(r["ms"]["64x32"] > 0 and r["gflops"]["64x32"] > 0 for r in rows.values())


def test_bench_cli_single_backend_keeps_the_flat_json_and_the_sweep_writes_latency_json(tmp_path, capsys):
    from gradgroup.cli.bench import main
    from gradgroup.results.records import load_latency

    for i, (name, status) in enumerate([("table3/dg4", "ok"), ("table3/dg4", "ok"), ("table3/dg8", "failed")]):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "metrics.json").write_text(json.dumps({"experiment": name, "status": status, "miou": 1.0}))
    main(["--sweep", str(tmp_path), "--backend", "optimized", "--size", "64x32", "--rounds", "1", "--warmup", "0",
          "--threads", "1", "--json"])
    out, err = capsys.readouterr()
    flat = json.loads(out)
    assert list(flat) == ["table3/erfnet", "table3/dg4", "_meta"] and flat["_meta"]["backend"] == "optimized"
    assert flat["table3/dg4"]["ms"]["64x32"] > 0 and "table3/dg8" in err
    saved = json.loads((tmp_path / "latency.json").read_text())
    assert saved["by_backend"]["optimized"]["table3/dg4"] == flat["table3/dg4"]
    measured, notes = load_latency([tmp_path])  # default: the fastest fp32 backend measured
    assert notes == [] and measured["_meta"]["backend"] == "optimized"
    assert measured["table3/dg4"]["ms"] == {"64x32": flat["table3/dg4"]["ms"]["64x32"]}
    _, notes = load_latency([tmp_path], "onnxruntime")
    assert "has no onnxruntime latency" in notes[0]


def test_table_names_the_latency_backend_in_caption_and_column():
    from gradgroup.results.table import make_table

    runs = [{"status": "ok", "experiment": e, "miou": 50.0, "family": f, "input_hw": [512, 1024]}
            for e, f in [("table3/erfnet", "erfnet"), ("table3/dg4", "DGC*")]]
    meta = {"backend": "onnxruntime", "cpu": "Some CPU", "simd": "AVX2", "threads": 2, "rounds": 7, "batch": 1,
            "torch": "2", "warnings": ["load average 9 > 2 cores"]}
    latency = {"table3/erfnet": {"ms": {"1024x512": 300.0}}, "table3/dg4": {"ms": {"1024x512": 100.0},
               "ratio_vs_erfnet": {"1024x512": 0.25}}, "_meta": meta}
    rows, md, _ = make_table(runs, latency)
    dg4 = next(r for r in rows if r["experiment"] == "table3/dg4")
    assert dg4["latency_ms"] == 100.0 and dg4["speedup_vs_erfnet"] == pytest.approx(4.0)
    assert "latency (ms, onnxruntime)" in md and "Latency: backend onnxruntime, measured by gradgroup-bench " \
        "(Some CPU, AVX2, 2 threads" in md and "Warning: load average 9 > 2 cores" in md


def test_bench_cli_profile_puts_time_beside_macs(capsys):
    from gradgroup.cli.bench import main

    main(["--profile", "table3/dg4", "--backend", "onnxruntime", "--size", "64x32", "--threads", "1", "--json"])
    res = json.loads(capsys.readouterr().out)
    layers = {r["layer"]: r for r in res["layers"]}
    assert {"encoder 1", "encoder 16", "decoder 6", "output"} <= set(layers) and res["ops"]
    assert sum(r["time_share"] for r in res["layers"]) == pytest.approx(1.0)
    assert sum(r["mac_share"] for r in res["layers"]) == pytest.approx(1.0) and layers["encoder 2"]["gmacs"] > 0


@pytest.mark.parametrize("argv, message", [
    (["table3/nope"], "experiment/table3/nope"),
    ([], "name at least one EXPERIMENT"),
    (["table3/dg4", "--backend", "tvm"], "--backend 'tvm' is unknown; expected one of eager, optimized"),
    (["table3/dg4", "--size", "8by8"], "size '8by8' is not W x H"),
    (["--profile", "table3/dg4"], "--profile times one backend"),
])
def test_bench_cli_user_errors_exit_2(argv, message, capsys):
    from gradgroup.cli.bench import main

    with pytest.raises(SystemExit) as exc:
        main([*argv, "--rounds", "1"])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_bench_cli_missing_optional_backend_says_how_to_get_it(monkeypatch, capsys):
    import importlib.util
    import shutil

    from gradgroup.cli.bench import main

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as exc:
        main(["table3/dg4", "--backend", "compile"])
    err = capsys.readouterr().err  # compile is skipped with its reason; with nothing left, an error
    assert exc.value.code == 2 and "skipping backend compile: --backend compile needs a C++ compiler" in err
    assert "no backend left to time" in err
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime"
                        else real_find(name, *a))
    with pytest.raises(SystemExit) as exc:
        main(["table3/dg4", "--backend", "onnxruntime-int8"])
    assert exc.value.code == 2 and "pip install 'gradgroup[deploy]'" in capsys.readouterr().err


def test_bench_prepare_only_builds_a_sweep_files_models_and_times_nothing(tmp_path, capsys):
    """What `make` runs beside a sweep (Makefile, sweep_and_table): the models of the sweep file, no timing."""
    from gradgroup.cli.bench import main

    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text("hydra:\n  sweeper:\n    params:\n      experiment: table3/dg4, demo/dg4_gradual\n")
    main(["--prepare-only", "--sweep-file", str(sweep_file), "--sweep", str(tmp_path), "--backend", "eager"])
    assert "prepared 3 models for eager" in capsys.readouterr().err  # ERFNet, the reference, and the two
    assert not (tmp_path / "latency.json").exists()
    (tmp_path / "empty.yaml").write_text("hydra: {}\n")
    with pytest.raises(SystemExit) as e:
        main(["--prepare-only", "--sweep-file", str(tmp_path / "empty.yaml")])
    assert e.value.code == 2 and "lists no hydra.sweeper.params.experiment" in capsys.readouterr().err


def test_bench_prepare_only_exports_onnx_files_and_opens_no_runtime_session(tmp_path, capsys, monkeypatch):
    """The exports are what the bench after a sweep reuses; a runtime session there would be CPU spent
    beside the sweep's jobs for nothing (it is created again when the bench times)."""
    from gradgroup.cli.bench import main
    from gradgroup.deploy import runtimes

    def no_session(*a, **k):
        raise AssertionError("--prepare-only opened an ONNX Runtime session")

    monkeypatch.setattr(runtimes, "ort_session", no_session)
    main(["table3/dg4", "--prepare-only", "--onnx-dir", str(tmp_path), "--backend", "onnxruntime"])
    assert "prepared 2 models for onnxruntime" in capsys.readouterr().err
    assert len(list(tmp_path.glob("*.onnx"))) == 2  # ERFNet (the reference) and DG4*, one file each
