"""SequenceTracker: Kalshi's seq counts per subscription id; gaps, duplicates and resnapshots."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kalshi_rl.kalshi.sequence import SeqCheck, SequenceTracker, SeqVerdict


def test_first_seq_on_a_sid_is_the_baseline() -> None:
    tracker = SequenceTracker()
    assert tracker.observe(1, 20544, is_snapshot=True) == SeqCheck(SeqVerdict.IN_ORDER, None, 20544)
    assert tracker.last(1) == 20544


def test_consecutive_seqs_are_in_order() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 1, is_snapshot=True)
    for seq in range(2, 50):
        assert tracker.observe(1, seq) == SeqCheck(SeqVerdict.IN_ORDER, seq, seq)
    assert tracker.last(1) == 49


def test_gap_is_reported_with_expected_and_received_seq() -> None:
    tracker = SequenceTracker()
    tracker.observe(3, 1042)
    assert tracker.observe(3, 1045) == SeqCheck(SeqVerdict.GAP, 1043, 1045)


def test_gap_is_reported_once_and_moves_the_baseline() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 1)
    assert tracker.observe(1, 5).verdict is SeqVerdict.GAP
    assert tracker.last(1) == 5
    assert tracker.observe(1, 6) == SeqCheck(SeqVerdict.IN_ORDER, 6, 6)


def test_duplicate_seq_is_stale_and_keeps_the_baseline() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 10)
    assert tracker.observe(1, 10) == SeqCheck(SeqVerdict.STALE, 11, 10)
    assert tracker.last(1) == 10
    assert tracker.observe(1, 11).verdict is SeqVerdict.IN_ORDER


def test_reordered_older_seq_is_stale() -> None:
    tracker = SequenceTracker()
    for seq in (1, 2, 3):
        tracker.observe(1, seq)
    assert tracker.observe(1, 2) == SeqCheck(SeqVerdict.STALE, 4, 2)
    assert tracker.last(1) == 3


def test_snapshot_that_does_not_advance_is_a_resnapshot_not_stale() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 2, is_snapshot=True)
    tracker.observe(1, 3)
    assert tracker.observe(1, 2, is_snapshot=True) == SeqCheck(SeqVerdict.RESNAPSHOT, 4, 2)
    assert tracker.last(1) == 3


def test_snapshot_that_continues_the_sequence_is_in_order() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 7596)
    assert tracker.observe(1, 7597, is_snapshot=True).verdict is SeqVerdict.IN_ORDER


def test_sids_are_tracked_independently() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 100)
    tracker.observe(2, 3)
    assert tracker.observe(2, 4).verdict is SeqVerdict.IN_ORDER
    assert tracker.observe(1, 101).verdict is SeqVerdict.IN_ORDER
    assert tracker.observe(2, 10).verdict is SeqVerdict.GAP
    assert tracker.last(1) == 101  # a gap on sid 2 does not touch sid 1
    assert tracker.observe(1, 101).verdict is SeqVerdict.STALE
    assert tracker.last(2) == 10


def test_forget_restarts_one_sid_and_clear_restarts_all() -> None:
    tracker = SequenceTracker()
    tracker.observe(1, 50)
    tracker.observe(2, 60)
    tracker.forget(1)
    assert tracker.last(1) is None
    assert tracker.last(2) == 60
    assert tracker.observe(1, 3).verdict is SeqVerdict.IN_ORDER  # renumbered after reconnect
    tracker.forget(99)  # unknown sid: nothing to do
    tracker.clear()
    assert tracker.last(1) is None
    assert tracker.last(2) is None


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=80))
def test_gaps_counted_match_the_runs_of_missing_numbers(seqs: list[int]) -> None:
    # Reference: the baseline only moves forward; each jump past the next number is one gap.
    tracker = SequenceTracker()
    verdicts = [tracker.observe(7, seq).verdict for seq in seqs]
    expected: list[SeqVerdict] = []
    last: int | None = None
    for seq in seqs:
        if last is None or seq == last + 1:
            expected.append(SeqVerdict.IN_ORDER)
            last = seq
        elif seq <= last:
            expected.append(SeqVerdict.STALE)
        else:
            expected.append(SeqVerdict.GAP)
            last = seq
    assert verdicts == expected
    assert tracker.last(7) == max(seqs)
