"""README tour: a task of the `mine` pool, run by a worker started by hand
with its own script folder (this one) and a virtualenv holding the
`greetings` package."""
import logging
import sys

import greetings


def main(name):
    print("greeting", name)                      # to the worker's log, with the task id
    logging.getLogger("where").warning("running in %s", sys.prefix)
    return {"greeting": greetings.greet(name),
            "executable": sys.executable,
            "prefix": sys.prefix,
            "package": greetings.__file__}
