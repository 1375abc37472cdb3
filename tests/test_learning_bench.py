"""``python -m dictlearn.bench learn`` runs in its quick mode and prints the comparison."""

from dictlearn.bench import main


def test_bench_learn_quick(capsys):
    assert main(["learn", "--quick", "--sklearn-steps", "2", "--our-max-steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "dictlearn online" in out and "heldout_objective" in out
    assert "sklearn minibatch" in out
    assert ("spams trainDL" in out) or ("skipping spams" in out)


def test_bench_learn_planted_quick(capsys):
    """``--planted``: recovery at equal steps, ours with the library's defaults."""
    assert main(["learn", "--planted", "--quick", "--snapshot-every", "20"]) == 0
    out = capsys.readouterr().out
    assert "planted problem: 1000 noise-free" in out and "recovery" in out
    assert "dictlearn online (default (rho=5), epoch window)" in out
    assert ("spams trainDL (defaults)" in out) or ("skipping spams" in out)
