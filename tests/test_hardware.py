"""Which CPU a figure was taken on, and `bench compare` refusing speed comparisons across
hardware while still comparing accuracy and size."""
import copy

from bench.cli import main
from bench.measure.environment import cpu_info
from bench.measure.hardware import hardware_difference, hardware_key
from bench.record.store import write_json_atomic
from test_compare import ENVIRONMENT, record

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse avx avx2 avx512f avx512_vnni avx512_bf16 amx_tile
processor\t: 1
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse avx avx2 avx512f avx512_vnni avx512_bf16 amx_tile
"""


def test_cpu_info_reads_the_instruction_sets():
    info = cpu_info(CPUINFO)
    assert info["model"] == "AMD EPYC 9R14"
    assert info["flags"] == {"avx2": True, "avx512f": True, "avx512_vnni": True,
                             "avx512_bf16": True, "avx_vnni": False, "amx": True}
    assert info["logical_cores"] >= 1
    avx2_only = cpu_info(CPUINFO.replace(" avx512f avx512_vnni avx512_bf16 amx_tile", ""))
    assert avx2_only["flags"]["avx2"] and not avx2_only["flags"]["avx512f"]
    assert not avx2_only["flags"]["amx"]
    assert cpu_info("")["flags"]["avx2"] is None  # unreadable: unknown, not "absent"


def environment(model="AMD EPYC", threads=2, gpu=None, **flags):
    env = copy.deepcopy(ENVIRONMENT)
    env["cpu"]["model"] = env["hardware"]["cpu"] = model
    env["cpu"]["flags"].update(flags)
    env["hardware"]["torch_threads"] = threads
    if gpu:
        env["hardware"]["gpu"] = gpu
    return env


def test_hardware_difference_names_what_differs():
    assert hardware_difference(environment(), environment()) is None
    assert hardware_difference(environment(), environment(avx512f=False)) == \
        "instruction sets: avx512f yes vs no"
    assert hardware_difference(environment(), environment(threads=1)) == "threads 2 vs 1"
    assert hardware_difference(environment(), environment(gpu="NVIDIA H100")) == \
        "GPU none vs NVIDIA H100"
    assert "CPU 'AMD EPYC' vs 'Intel Xeon'" in hardware_difference(environment(),
                                                                  environment("Intel Xeon"))
    old = {"hardware": {"cpu": "AMD EPYC", "torch_threads": 2}}  # before flags were recorded
    assert hardware_difference(old, environment()) == \
        "CPU instruction sets not recorded in the first run"
    assert hardware_key(environment(avx512_vnni=False)) == \
        "AMD EPYC (avx2, avx512f, avx512_bf16); 2 threads; GPU: none"


def write(folder, *records):
    for r in records:
        write_json_atomic(folder / f"{r['cell_id']}.json", r)
    return folder


def test_compare_refuses_latency_across_hardware_but_gates_on_accuracy(tmp_path, capsys):
    slower_host = record(p50_b32=400.0)  # 10x "slower": a different CPU, not a regression
    slower_host["environment"] = environment(avx512f=False, avx512_vnni=False, avx512_bf16=False)
    old, new = write(tmp_path / "old", record()), write(tmp_path / "new", slower_host)
    assert main(["compare", str(old), str(new), "--md"]) == 0
    out, err = capsys.readouterr()
    assert "p50" not in out and "| F1 macro |" in out
    assert ("minilm--lora--tweets: speed not compared: instruction sets: avx512_bf16 yes vs no, "
            "avx512_vnni yes vs no, avx512f yes vs no; accuracy and size compared") in \
        err.replace("\n", " ")
    worse = record(f1=0.70, p50_b32=400.0)
    worse["environment"] = slower_host["environment"]
    write(new, worse)
    assert main(["compare", str(old), str(new), "--md"]) == 1  # accuracy still gates
    assert "F1 macro: 0.8000 -> 0.7000" in capsys.readouterr().err


def test_compare_on_the_same_hardware_still_gates_latency(tmp_path, capsys):
    old, new = write(tmp_path / "old", record()), write(tmp_path / "new", record(p50_b32=60.0))
    assert main(["compare", str(old), str(new), "--md"]) == 1
    assert "p50 ms (b=32): 40.00 -> 60.00" in capsys.readouterr().err
