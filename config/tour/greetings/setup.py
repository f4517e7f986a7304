# A tiny package for the README tour: installed into a virtualenv with
#   /tmp/zfleet-venv/bin/pip install --no-index config/tour/greetings
# (no network: setuptools comes with the venv's pip).
from setuptools import setup

setup(name="greetings", version="1.0", package_dir={"": "src"}, packages=["greetings"])
