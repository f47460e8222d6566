"""What Skillship and a task's container agree on, spelled once for both sides.

The core writes these into Jobs and Deployments (skillship.plan, skillship.manifests) and into ad
hoc runs (`skillship run`); this runtime, inside the image, reads them. Both import this module
(standard library only, as everything the image carries), so renaming one here renames it on both
sides, and a test cannot pass with the two sides apart.
"""

from __future__ import annotations

# The environment of a task's container.
# {"<output>": [target, ...]}: a target is the URL of a receiver on the runtime
# ("http://<receiver>:<port>/records/<input>": batches of records), or, for a daemon of its own
# making, {"url": ..., "method": "POST", "format": "envelope"}: one message envelope per record.
TARGETS_ENV = "SKILLSHIP_TARGETS"
TARGET_URL, TARGET_METHOD, TARGET_FORMAT, ENVELOPE_FORMAT = "url", "method", "format", "envelope"
IDEMPOTENCY_HEADER = "Idempotency-Key"  # what an envelope target reads each record's key from
ACTIVATION_ENV = "SKILLSHIP_ACTIVATION_ID"  # the message's activationId: the records' idempotency keys
SKILL_ENV = "SKILLSHIP_SKILL"
# A secure property reaches the container as SKILLSHIP_SECRET_<NAME> (`api.token` -> ..._API_TOKEN),
# from the skill's Secret; the skill's own code reads it.
SECRET_ENV_PREFIX = "SKILLSHIP_SECRET_"
# ... and of a daemon's.
PROPERTIES_ENV = "SKILLSHIP_PROPERTIES"  # its properties, as a JSON object (a daemon gets no message)
PORT_ENV = "PORT"
DATA_DIR_ENV = "SKILLSHIP_DATA_DIR"

DEFAULT_PORT = 5000  # a daemon's port when its action names none
DATA_DIR = "/tmp/skillship-records"  # where the receiver keeps what it received (an emptyDir at /tmp)
RECORDS_PATH = "/records/"  # a daemon serves POST /records/<input>

# The message: the container's last argument, or `@<file>` for one too large for an argument,
# mounted from a ConfigMap named after the Job.
# The platform limited messages to 100 kB, and Linux limits one argv element to 128 kB: larger
# messages travel in a ConfigMap, whose own limit is 1 MiB (with its metadata).
ARGV_MESSAGE_LIMIT = 100 * 1000  # bytes
MESSAGE_LIMIT = 900 * 1000  # bytes
MESSAGE_FILE_MARK = "@"
MESSAGE_VOLUME = "message"
MESSAGE_DIR = "/var/run/skillship/message"
MESSAGE_FILE = "message.json"
MESSAGE_FILE_ARGUMENT = f"{MESSAGE_FILE_MARK}{MESSAGE_DIR}/{MESSAGE_FILE}"


def message_config_map_name(job: str) -> str:
    """The ConfigMap that holds the message of Job `job`, when it is too large for an argument."""
    return f"{job}-message"
