"""The invariance benchmark's noise (evaluation/noise.py): e-mail boilerplate added around each
ticket's own text, seeded, and nothing else changed."""

from pathlib import Path

from evaluation.datasets import load_labelled
from evaluation.noise import add_noise, read_blocks

BATCH = Path(__file__).resolve().parents[1] / "evaluation" / "blind" / "batch-01.csv"


def test_the_blocks_file_holds_every_kind_at_a_known_place():
    blocks = read_blocks()
    assert {b.kind for b in blocks} >= {"disclaimer", "banner", "signature"}
    assert {b.at for b in blocks} == {"start", "end"}
    assert all(b.text.strip() for b in blocks)


def test_noise_keeps_each_ticket_whole_and_only_adds_blocks_around_it():
    data = load_labelled(BATCH)
    blocks = read_blocks()
    noisy, kinds = add_noise(data, blocks, seed=3)
    starts = [b.text for b in blocks if b.at == "start"]
    ends = [b.text for b in blocks if b.at == "end"]
    before = data.tickets.set_index("ticket_id")["description"].fillna("")
    after = noisy.tickets.set_index("ticket_id")["description"]
    assert list(after.index) == list(before.index)
    for tid, text in after.items():
        own = str(before[tid])
        head = next((h for h in starts if text.startswith(h + "\n\n" + own)), None)
        rest = text[len(head) + 2:] if head is not None else text
        assert rest.startswith(own), tid
        rest, tail = rest[len(own):], 0
        while rest:  # the rest is end blocks only, each after a blank line
            block = next((e for e in ends if rest.startswith("\n\n" + e)), None)
            assert block is not None, (tid, rest[:80])
            rest, tail = rest[len(block) + 2:], tail + 1
        assert len(kinds[tid]) == tail + (head is not None)
        assert 1 <= len(kinds[tid]) <= 4  # one to three drawn, a banner sometimes added
    # the rest of the data set is the same: truth, time entries, subjects
    assert noisy.truth.equals(data.truth) and noisy.time.equals(data.time)
    assert noisy.subjects == data.subjects
    assert noisy.tickets.drop(columns="description").equals(data.tickets.drop(columns="description"))


def test_noise_is_seeded():
    data = load_labelled(BATCH)
    blocks = read_blocks()
    a, _ = add_noise(data, blocks, seed=5)
    b, _ = add_noise(data, blocks, seed=5)
    c, _ = add_noise(data, blocks, seed=6)
    assert a.tickets["description"].tolist() == b.tickets["description"].tolist()
    assert a.tickets["description"].tolist() != c.tickets["description"].tolist()
