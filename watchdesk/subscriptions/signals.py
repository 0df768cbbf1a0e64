from django.dispatch import Signal

# Sent with ``subscribers`` (saved rows) and ``kind`` (a ``Reply``) inside the transaction that asks for
# the messages; the delivery app queues them in that transaction.
reply_requested = Signal()

# Sent with ``subscriber`` when a reader confirms their address.
subscriber_confirmed = Signal()
