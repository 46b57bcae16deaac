"""moto's server, with DynamoDB's writes made one at a time.

moto's TransactWriteItems snapshots every table it touches and, when a condition fails, puts
the snapshot back: any write another request made meanwhile is undone. DynamoDB isolates a
transaction from other writes; one lock over moto's DynamoDB writes gives the tests that
isolation (its writes are held in memory, so the lock costs microseconds). Started by
scripts/lib.sh start_moto with moto_server's own arguments.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITES = threading.RLock()


def _one_at_a_time(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _WRITES:
            return method(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _one_at_a_time(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
