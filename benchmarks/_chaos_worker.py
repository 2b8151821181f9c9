"""`postwise worker` on the demo's compressed clock, for the chaos run:
``python -m benchmarks._chaos_worker --region R [worker options]``.

The worker is the CLI's, unchanged; only Yahoo's batch windows shrink to the demo's ten
seconds of every thirty (ten minutes of every thirty would hold a tenth of the campaign
for up to twenty minutes). Retries are compressed through the settings the run passes
(RETRY_FIRST_DELAY_SECONDS, WORKER_LEASE_SECONDS).
"""

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run `postwise worker` with ``argv`` under the compressed Yahoo windows."""
    from delivery.providers import POLICIES, YahooPolicy
    from postwise.cli import main as cli
    from postwise.demo_campaign import DEMO_YAHOO_WINDOW

    POLICIES["yahoo"] = YahooPolicy(window=DEMO_YAHOO_WINDOW[0], period=DEMO_YAHOO_WINDOW[1])
    return cli(["worker", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
