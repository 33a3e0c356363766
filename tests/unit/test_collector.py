"""The local system's collector setting: no full collections while it runs, restored after."""
import gc

from local.collector import NO_FULL_COLLECTIONS, YoungCollectionsOnly


def test_a_running_system_has_no_full_collections_and_stopping_restores_the_thresholds():
    before = gc.get_threshold()
    collector = YoungCollectionsOnly()
    collector.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NO_FULL_COLLECTIONS)
        assert gc.get_freeze_count() > 0  # start-up objects are out of the young scans
        collector.start()  # a second start keeps the first saved thresholds
    finally:
        collector.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    collector.stop()  # stopping twice is harmless
    assert gc.get_threshold() == before
