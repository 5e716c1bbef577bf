"""The op coverage report counts names that exist and have a backend implementation."""
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


def test_catalog_ships_with_the_package():
    names = coverage.catalog()
    assert len(names) == 337 and "add" in names and "while_loop" in names
