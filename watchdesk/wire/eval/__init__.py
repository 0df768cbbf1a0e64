"""The wire's evaluation set and scorer: ``python -m watchdesk.wire.eval`` (``make eval``).

``set/`` holds news items written for this project, one JSON Lines file per theme, each labelled as an
editor would label it (topics, places, story). ``dataset`` reads and checks them, ``scoring`` holds the
arithmetic, and ``run`` puts the items through the real wire in a fresh test database and compares what
the wire decided with the labels. The rules are in docs/wire.md ("Evaluation set").
"""
