"""Files that matter are replaced atomically: OpenVINO IR written by `CompiledModel.save`
(and `unikeras convert --to openvino`) is the old pair or the new, never a partial one."""
import os

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops

ov = pytest.importorskip("openvino")


def _compiled(units):
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((4,)), layers.Dense(units)])
    return uov.compile(model)


def test_openvino_ir_is_replaced_atomically(tmp_path, monkeypatch):
    from unikeras.adapters.openvino import compiled as compiled_module
    path = tmp_path / "m.xml"
    _compiled(3).save(str(path))
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.xml"]   # nothing staged is left
    before = {name: (tmp_path / name).read_bytes() for name in ("m.xml", "m.bin")}

    def crash(model, staged, compress_to_fp16):   # writes part of the IR, then fails
        with open(staged, "w") as f:
            f.write("<?xml")
        raise OSError("disk full")
    monkeypatch.setattr(compiled_module.ov, "save_model", crash)
    with pytest.raises(OSError, match="disk full"):
        _compiled(5).save(str(path))
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.xml"]
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    monkeypatch.undo()
    outputs = ov.Core().compile_model(str(path), "CPU")(np.ones((2, 4), "float32"))
    assert next(iter(outputs.values())).shape == (2, 3)
    with pytest.raises(ValueError, match="must end in '.xml'"):
        _compiled(3).save(str(tmp_path / "m.bin"))
