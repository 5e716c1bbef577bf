"""Loading crafted `.unikeras` archives: each is refused with a clear ValueError naming the
file or the object at fault, and none runs code (the classes of Keras CVE-2024-3660,
CVE-2025-1550, CVE-2025-9905 and CVE-2025-9906)."""
import base64
import io
import json
import marshal
import pickle
import struct
import zipfile

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from unikeras.common.saving import archive


def _saved(tmp_path):
    """A small valid archive and its members."""
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2, name="d")], name="m")
    path = tmp_path / "ok.unikeras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return path, members


def _write(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _with_layer(members, layer_config, **top):
    """The archive's members with `layer_config` appended to its Sequential's layers."""
    config = json.loads(members["config.json"])
    config["config"]["layers"].append(layer_config)
    config.update(top)
    return {**members, "config.json": json.dumps(config).encode()}


def _marker_code(marker):
    """Keras's form of a Lambda whose bytecode would create `marker` when called or loaded."""
    def touch(x, path=str(marker)):
        open(path, "w").close()
        return x
    return {"class_name": "__lambda__", "config": {
        "code": base64.b64encode(marshal.dumps(touch.__code__)).decode("ascii"),
        "defaults": [str(marker)], "closure": None}}


def test_lambda_bytecode_is_refused_unless_the_caller_allows_it(tmp_path):
    _, members = _saved(tmp_path)
    marker = tmp_path / "code_ran"
    lam = {"module": "keras.layers", "class_name": "Lambda",
           "config": {"name": "evil", "function": _marker_code(marker), "arguments": {}},
           "registered_name": None}
    # The file asks for unsafe loading in every way it can: ignored.
    crafted = _with_layer(members, lam, safe_mode=False)
    crafted["metadata.json"] = json.dumps({"safe_mode": False}).encode()
    path = _write(tmp_path / "lambda.unikeras", crafted)
    with pytest.raises(ValueError, match=r"'evil' holds a Lambda function stored as Python "
                                         r"bytecode.*safe_mode=False"):
        uk.saving.load_model(path)
    with pytest.raises(ValueError, match="bytecode"):
        uk.saving.deserialize_keras_object(lam)
    assert not marker.exists()

    # The caller's safe_mode=False loads it (and so runs its code: the caller's choice).
    with ops.backend_scope("numpy"):
        model = uk.saving.load_model(path, safe_mode=False)
        x = np.arange(3, dtype="float32")[None]
        np.testing.assert_array_equal(model.layers[-1](x), x)
    assert marker.exists()


def test_configs_cannot_name_modules_or_functions_outside_the_registry(tmp_path):
    path_ok, members = _saved(tmp_path)
    marker = tmp_path / "code_ran"
    crafted = {
        "os.system": {"module": "os", "class_name": "system",
                      "config": {"command": f"touch {marker}"}, "registered_name": None},
        "registered os.system": {"module": "os", "class_name": "Dropout",
                                 "config": {"rate": 0.5}, "registered_name": "os>system"},
        "function os.system": {"module": "keras.layers", "class_name": "Dense", "config": {
            "units": 1, "activation": {"module": "os", "class_name": "function",
                                       "config": "system", "registered_name": "function"}},
            "registered_name": None},
        "enable_unsafe_deserialization": {
            "module": "keras.config", "class_name": "function",
            "config": "enable_unsafe_deserialization", "registered_name": "function"},
        "builtins eval": {"module": "builtins", "class_name": "function", "config": "eval",
                          "registered_name": "function"},
        "dotted name": {"module": "subprocess", "class_name": "Popen.__init__",
                        "config": {}, "registered_name": None},
    }
    expected = {"os.system": "Unknown class 'system' \\(module 'os'\\)",
                "registered os.system": None,   # the registered name is only a lookup key
                "function os.system": "activation 'system'|Unknown function 'system'",
                "enable_unsafe_deserialization": "Unknown function 'enable_unsafe_deserialization'",
                "builtins eval": "Unknown function 'eval'",
                "dotted name": "Unknown class 'Popen.__init__'"}
    for label, layer in crafted.items():
        path = _write(tmp_path / "crafted.unikeras", _with_layer(members, layer))
        if expected[label] is None:   # the built-in Dropout: harmless
            assert type(uk.saving.load_model(path).layers[-1]).__name__ == "Dropout"
            continue
        with pytest.raises(ValueError, match=expected[label]) as info:
            uk.saving.load_model(path)
        assert "register_keras_serializable" in str(info.value) or "known" in str(info.value)
        with pytest.raises(ValueError):
            uk.saving.deserialize_keras_object(layer)
    assert not marker.exists()


def test_pickles_are_never_loaded(tmp_path):
    _, members = _saved(tmp_path)
    marker = tmp_path / "code_ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    payload = pickle.dumps(Payload())
    for entry, message in (("model.safetensors", "model.safetensors is not a valid safetensors"),
                           ("config.json", "config.json is not valid JSON"),
                           ("metadata.json", "metadata.json is not valid JSON")):
        path = _write(tmp_path / "pickled.unikeras", {**members, entry: payload})
        with pytest.raises(ValueError, match=f"pickled.unikeras.*{message}"):
            uk.saving.load_model(path)
    path = tmp_path / "raw_pickle.unikeras"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="raw_pickle.unikeras' is not a readable model archive"):
        uk.saving.load_model(path)
    assert not marker.exists()


def test_entry_names_cannot_escape(tmp_path):
    _, members = _saved(tmp_path)
    for name in ("../evil.txt", "assets/../../evil.txt", "/etc/evil", "C:/evil", "..\\evil"):
        path = _write(tmp_path / "escape.unikeras", {**members, name: b"x"})
        with pytest.raises(ValueError, match="could escape the target folder"):
            uk.saving.load_model(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def _set_declared_size(data, name, size):
    """The zip bytes with `name`'s uncompressed size in the central directory set to `size`."""
    data = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    count, _, offset = struct.unpack("<HII", data[end + 10:end + 20])
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[offset + 28:offset + 34])
        if data[offset + 46:offset + 46 + name_len].decode() == name:
            data[offset + 24:offset + 28] = struct.pack("<I", size)
            return bytes(data)
        offset += 46 + name_len + extra_len + comment_len
    raise AssertionError(name)


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    _, members = _saved(tmp_path)
    honest = _write(tmp_path / "a.unikeras", members).read_bytes()
    # A small entry declaring a huge size is refused before a byte is inflated.
    bomb = tmp_path / "bomb.unikeras"
    bomb.write_bytes(_set_declared_size(honest, "config.json", 2**32 - 1))
    with pytest.raises(ValueError, match=r"bomb.unikeras.*'config.json' declares 4294967295 "
                                         r"bytes, above the limit of 67108864"):
        uk.saving.load_model(bomb)
    # Highly compressible data above the limit (64 KiB of zeros here, a lower limit) ...
    monkeypatch.setattr(archive, "MAX_JSON_BYTES", 4096)
    padded = {**members, "config.json": members["config.json"] + b" " * 65536}
    path = _write(tmp_path / "padded.unikeras", padded)
    assert path.stat().st_size < 4096
    with pytest.raises(ValueError, match="declares 6.* above the limit of 4096"):
        uk.saving.load_model(path)
    # ... and the same entry under-declaring its size: reading stops, nothing is trusted.
    liar = tmp_path / "liar.unikeras"
    liar.write_bytes(_set_declared_size(path.read_bytes(), "config.json", 100))
    with pytest.raises(ValueError, match="liar.unikeras"):
        uk.saving.load_model(liar)
    # Should a zip reader ever yield more than an entry declares, the streamed count stops it.
    class Inflating:
        def open(self, info):
            return io.BytesIO(bytes(10**6))
    monkeypatch.setattr(archive, "_CHUNK", 1024)
    with pytest.raises(ValueError, match="'config.json' decompresses to more than its limit"):
        archive._read_member(Inflating(), "x.unikeras", zipfile.ZipInfo("config.json"), 4096)


def test_damaged_archives_name_the_file(tmp_path):
    path, members = _saved(tmp_path)
    data = path.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "empty": b"",
             "garbage": b"PK\x03\x04" + bytes(200)}
    stored = _write(tmp_path / "s.unikeras", members, zipfile.ZIP_STORED).read_bytes()
    at = stored.index(b"\"d/kernel\"")
    cases["flipped weights byte"] = stored[:at] + b"X" + stored[at + 1:]
    for label, content in cases.items():
        bad = tmp_path / f"{label.replace(' ', '_')}.unikeras"
        bad.write_bytes(content)
        with pytest.raises(ValueError, match=bad.name) as info:
            uk.saving.load_model(bad)
        assert "zip" in str(info.value) or "CRC" in str(info.value), label
    incomplete = _write(tmp_path / "incomplete.unikeras",
                        {k: v for k, v in members.items() if k != "model.safetensors"})
    with pytest.raises(ValueError, match=r"incomplete.unikeras.*missing \['model.safetensors'\]"):
        uk.saving.load_model(incomplete)
    header_only = _write(tmp_path / "header.unikeras", {**members, "model.safetensors": b"\x10"})
    with pytest.raises(ValueError, match="header.unikeras.*not a valid safetensors"):
        uk.saving.load_model(header_only)
    # Weights of the wrong shape or dtype, or missing: one clear error, nothing is built.
    from safetensors.numpy import save
    for label, tensors, message in (
            ("shape", {"d/kernel": np.zeros((3, 3), "float32"), "d/bias": np.zeros(2, "float32")},
             r"d/kernel has shape \(3, 3\) in the file, \(3, 2\) in the model"),
            ("dtype", {"d/kernel": np.zeros((3, 2), "int32"), "d/bias": np.zeros(2, "float32")},
             "d/kernel is int32 in the file, float32 in the model"),
            ("missing", {"d/bias": np.zeros(2, "float32")}, r"missing \['d/kernel'\]")):
        bad = _write(tmp_path / f"{label}.unikeras", {**members, "model.safetensors": save(tensors)})
        with pytest.raises(ValueError, match=f"{label}.unikeras.*{message}"):
            uk.saving.load_model(bad)
    with pytest.raises(FileNotFoundError, match="nowhere.unikeras"):
        uk.saving.load_model(tmp_path / "nowhere.unikeras")
    unregistered = _write(tmp_path / "unknown.unikeras", _with_layer(members, {
        "module": "my.package", "class_name": "MyLayer", "config": {},
        "registered_name": "my>MyLayer"}))
    with pytest.raises(ValueError, match="Unknown class 'MyLayer'.*register_keras_serializable"):
        uk.saving.load_model(unregistered)
    assert isinstance(uk.saving.load_model(path), uk.Sequential)
