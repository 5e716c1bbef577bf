"""The op coverage report counts names that exist and have a backend implementation, and
checks each Keras namespace's names are exposed by the matching unikeras module."""
import importlib

import pytest

from unikeras.utils import coverage


def test_report_on_a_small_catalog(tmp_path, capsys):
    path = tmp_path / "names.txt"
    path.write_text("add\nis_tensor\nnot_an_op_at_all\n")
    results = coverage.main(["--catalog", str(path), "--missing"])
    out = capsys.readouterr().out
    for backend, (done, missing) in results.items():
        assert done == ["add", "is_tensor"] and missing == ["not_an_op_at_all"], backend
    assert "numpy                  2    3     66.7%" in out
    assert "missing (1): not_an_op_at_all" in out


def test_catalogs_ship_with_the_package():
    names = coverage.catalog()
    assert len(names) == 337 and "add" in names and "while_loop" in names
    full = coverage.backend_catalog()
    assert len(full) == 337 + 16 and "image.resize" in full and "resize" not in names


def test_image_names_resolve_in_the_image_namespace():
    assert coverage.implemented("image.resize", "numpy")
    assert not coverage.implemented("image.not_an_image_op", "numpy")


@pytest.mark.parametrize("keras_name,module_name", sorted(coverage.NAMESPACES.items()))
def test_every_keras_namespace_name_is_exposed_and_importable(keras_name, module_name):
    total, absent = coverage.namespace_report()[keras_name]
    assert total > 0 and absent == [], f"{module_name} lacks {absent}"
    module = importlib.import_module(module_name)   # `import unikeras.ops.numpy` works
    assert module.__name__ == module_name


def test_result_type_is_public_in_ops():
    from unikeras import ops
    assert ops.result_type("int8", "uint8") == "int16"
    assert ops.result_type("bfloat16", "float16") == "float32"
    assert ops.result_type("int32", 1.0) == "float32"   # a Python float is weak, but a float
