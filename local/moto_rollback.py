"""A cancelled transaction in moto must leave no trace in a table's stream.

moto runs a TransactWriteItems item by item, applying each one to the live table,
and when one fails it puts back a copy of each table taken before the transaction.
The copy comes with its own stream shard. A shard iterator handed out earlier
still points at the old shard, which holds the records of the writes that were
undone. A poller reading with that iterator then delivers an image that never
existed: counters counted twice (a duplicate count whose ledger put failed), which
made the progress tracker start the star sign and complete a session before its
last chunk was in.

DynamoDB writes nothing to a stream for a cancelled transaction. So after a
rollback the old shard object is kept and given the copy's records, and every
iterator, old or new, reads the same records. DynamoDB requests run one at a time
(local.aws_faults), so nothing can read the shard between the write and the
rollback.
"""
from __future__ import annotations

from typing import Any

_MARK = "_tvreport_keeps_stream_shards"


def keep_stream_shards_across_rollbacks() -> None:
    """Wrap moto's DynamoDB transactions (once per process)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, _MARK, False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shards = {name: table.stream_shard for name, table in self.tables.items() if table.stream_shard is not None}
        try:
            original(self, transact_items)
        finally:
            for name, shard in shards.items():
                _keep(self.tables.get(name), shard)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    setattr(DynamoDBBackend, _MARK, True)


def _keep(table: Any, shard: Any) -> None:
    """If the table was put back from its copy, keep the shard iterators point at,
    holding the copy's records (those from before the transaction)."""
    if table is None or table.stream_shard is None or table.stream_shard is shard:
        return
    shard.items = table.stream_shard.items
    shard.table = table
    table.stream_shard = shard
