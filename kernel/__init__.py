"""The shared kernel of the KoSI services. Importing it installs the JSON codec of every
AMQP message in this process (``codec.py``), so all services and tools speak the same."""
from kernel import codec as _codec

_codec.install()
