"""Protocol-buffer bodies of the API: ``postwise.proto``, its generated module
``postwise_pb2`` (``make proto`` regenerates it) and the JSON/protobuf mapping
(:mod:`.bodies`)."""
