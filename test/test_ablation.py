"""The ablation compares both arms on one held-out set and records bicubic / without_ct / with_ct in a card."""
import torch

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.train.ablation import ablation, annotate, format_ablation
from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.weights import card_for, load_model, read_card, save_model


def _model(tmp_path, name, zero_residual):
    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    if zero_residual:  # exactly bicubic: a strong model next to a random residual
        torch.nn.init.zeros_(net.reconstruct[0].weight)
        torch.nn.init.zeros_(net.reconstruct[0].bias)
    return save_model(tmp_path / f"{name}.safetensors", net, card_for(net))


def test_ablation_table_and_card(tmp_path):
    good, bad = _model(tmp_path, "good", True), _model(tmp_path, "bad", False)
    table = ablation(without=bad, with_ct=good, scenes=2, size=32)
    assert set(table) == set(EVAL_DEGRADATIONS)
    assert table["bicubic"]["with_ct"] < table["bicubic"]["without_ct"]
    assert "DSRNet with CT" in format_ablation(table, 2)
    target = _model(tmp_path, "shipped", False)
    before, _ = load_model(target)
    annotate(table, target, bad, good, 2, 32, 1_000_000)
    card = read_card(target)
    assert set(card.metrics["heldout_synthetic"]) == {"bicubic", "without_ct", "with_ct"}
    assert card.metrics["heldout_synthetic"]["with_ct"] == table["bicubic"]["with_ct"]
    assert card.metrics["ablation"]["scenes"] == 2
    shipped, _ = load_model(target)
    assert all(torch.equal(v, before.state_dict()[k]) for k, v in shipped.state_dict().items())


def test_a_second_ablation_keeps_the_first_in_history(tmp_path):
    good, bad = _model(tmp_path, "good", True), _model(tmp_path, "bad", False)
    target = _model(tmp_path, "shipped", False)
    first = ablation(without=bad, with_ct=good, scenes=2, size=32)
    annotate(first, target, bad, good, 2, 32, 1_000_000)
    second = ablation(without=good, with_ct=bad, scenes=3, size=32)
    annotate(second, target, good, bad, 3, 32, 1_000_000)
    annotate(second, target, good, bad, 3, 32, 1_000_000)  # repeating the same ablation adds nothing
    metrics = read_card(target).metrics
    assert metrics["heldout_synthetic"]["with_ct"] == second["bicubic"]["with_ct"]
    assert [h["ablation"]["scenes"] for h in metrics["ablation_history"]] == [2]
    assert metrics["ablation_history"][0]["heldout_synthetic"]["with_ct"] == first["bicubic"]["with_ct"]
