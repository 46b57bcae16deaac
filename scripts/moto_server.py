"""moto's server, with DynamoDB's writes made one at a time and transactions that cost what
they write.

moto's TransactWriteItems snapshots every table it touches (a deep copy of every item) and,
when a condition fails, puts the snapshot back: any write another request made meanwhile is
undone, and each transaction costs time in proportion to the table (140 ms at 3,000 items), so
a long conformance run times out. DynamoDB isolates a transaction and checks its conditions
before it writes. Here one lock makes moto's DynamoDB writes take turns, and a transaction's
conditions are checked under it first: a failed one is refused before anything is written, one
that holds is applied without the snapshot, which it can no longer need. Started by
scripts/lib.sh start_moto with moto_server's own arguments.
"""

import copy
import functools
import sys
import threading

import moto.dynamodb.models as dynamodb
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.server import main

_WRITES = threading.RLock()


def _one_at_a_time(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _WRITES:
            return method(*args, **kwargs)

    return locked


class _NoSnapshot:
    """`copy` as moto's DynamoDB module sees it while a checked transaction applies."""

    deepcopy = staticmethod(lambda value: value)


def _failed_conditions(backend, transact_items):
    """moto's cancellation reasons, or None when every condition holds."""
    reasons, failed = [], False
    for entry in transact_items:
        kind, op = next(iter(entry.items()))
        condition = op.get("ConditionExpression")
        if kind not in {"ConditionCheck", "Put", "Delete", "Update"} or condition is None:
            reasons.append((None, None, None))
            continue
        if kind == "Put":
            table = backend.get_table(op["TableName"])
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        current = backend.get_item(op["TableName"], key)
        holds = get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current)
        if holds:
            reasons.append((None, None, None))
        else:
            failed = True
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", None))
    return reasons if failed else None


def _transact_write_items(original):
    @functools.wraps(original)
    def checked_first(self, transact_items):
        with _WRITES:
            reasons = _failed_conditions(self, transact_items)
            if reasons is not None:
                raise TransactionCanceledException(reasons)
            dynamodb.copy = _NoSnapshot
            try:
                return original(self, transact_items)
            finally:
                dynamodb.copy = copy

    return checked_first


for _name in ("put_item", "update_item", "delete_item"):
    setattr(dynamodb.DynamoDBBackend, _name, _one_at_a_time(getattr(dynamodb.DynamoDBBackend, _name)))
dynamodb.DynamoDBBackend.transact_write_items = _transact_write_items(
    dynamodb.DynamoDBBackend.transact_write_items
)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
