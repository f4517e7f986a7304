"""Virtualenvs and extra paths of a pool's Python (issue 12, point 2;
python.venv, workers.pools.NAME.venv, python.path, --venv, --python-path):

- a pool whose workers run in a venv made by `/usr/bin/python3 -m venv`
  with a package installed in it: a task imports the package and sees the
  venv's sys.executable, sys.prefix and site-packages;
- a pool without a venv sees Debian's /usr/bin/python3 (never the worker
  binary as sys.executable) and cannot import the venv's package;
- python.path entries come ahead of site-packages on sys.path;
- a venv made with another Python version is refused at start, exit 2, with
  a message naming the path and both versions (flag and config file), by a
  hand-started worker and by a broker whose local pool has it.

The package is a pure-Python wheel written here with zipfile (METADATA,
WHEEL, RECORD) and installed with Debian's pip (`pip --python VENV_PYTHON
install --no-index`): no network. Where pip is missing the wheel is unpacked
into site-packages, which is all pip does with a pure wheel.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from harness import BROKER_BIN, WORKER_BIN, FleetTestCase, free_ports

PY_MM = "%d.%d" % sys.version_info[:2]   # /usr/bin/python3 is what the worker embeds
PKG = "zfleet_venv_demo"
PKG_VERSION = "1.2"

INSPECT = """
import sys

def main(module=None):
    out = {"executable": sys.executable, "prefix": sys.prefix,
           "base_prefix": sys.base_prefix, "path": list(sys.path)}
    if module:
        try:
            m = __import__(module)
            out["file"] = m.__file__
            out["value"] = m.VALUE
        except ImportError as e:
            out["import_error"] = str(e)
    return out
"""


def write_wheel(folder):
    """A pure-Python wheel of PKG; returns its path."""
    dist = "%s-%s.dist-info" % (PKG, PKG_VERSION)
    files = {PKG + "/__init__.py": "VALUE = 'from the venv'\n",
             dist + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (PKG, PKG_VERSION),
             dist + "/WHEEL": ("Wheel-Version: 1.0\nGenerator: zfleet-test\nRoot-Is-Purelib: true\n"
                               "Tag: py3-none-any\n")}

    def record(text):
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        return "sha256=%s,%d" % (digest.decode(), len(text.encode()))

    lines = ["%s,%s" % (name, record(text)) for name, text in files.items()]
    files[dist + "/RECORD"] = "\n".join(lines + [dist + "/RECORD,,"]) + "\n"
    path = os.path.join(folder, "%s-%s-py3-none-any.whl" % (PKG, PKG_VERSION))
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def make_venv(folder):
    """A venv with PKG installed; returns its folder."""
    venv = os.path.join(folder, "venv")
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv], check=True)
    wheel = write_wheel(folder)
    pip = subprocess.run(["/usr/bin/python3", "-m", "pip", "--python", os.path.join(venv, "bin", "python3"),
                          "install", "--no-index", "--no-deps", "-q", wheel],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    site = os.path.join(venv, "lib", "python" + PY_MM, "site-packages")
    if pip.returncode != 0:
        if b"No module named pip" not in pip.stdout:
            raise AssertionError("pip failed: %s" % pip.stdout.decode(errors="replace"))
        with zipfile.ZipFile(wheel) as z:
            z.extractall(site)
    assert os.path.isfile(os.path.join(site, PKG, "__init__.py")), os.listdir(site)
    return venv


def fake_venv(folder, version):
    """A folder that looks like a venv of another Python."""
    venv = os.path.join(folder, "venv-" + version)
    os.makedirs(os.path.join(venv, "bin"))
    with open(os.path.join(venv, "pyvenv.cfg"), "w") as f:
        f.write("home = /opt/python%s/bin\ninclude-system-site-packages = false\nversion = %s\n"
                % (version, version))
    return venv


class VenvPools(FleetTestCase):
    FLEET = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="zfleet-it-venv-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.venv = make_venv(cls.tmp)
        cls.extra = os.path.join(cls.tmp, "extra")
        os.makedirs(cls.extra)
        with open(os.path.join(cls.extra, "zfleet_path_helper.py"), "w") as f:
            f.write("VALUE = 'from python.path'\n")

    def setUp(self):
        self.fleet = self.new_fleet(
            workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0},
                     "pools": {"inv": {"processes": 1, "threads": 1, "venv": self.venv}}},
            python={"script_roots": ["tasks"], "path": [self.extra]},
            scripts={"inspect.py": INSPECT})
        self.client = self.fleet.client()

    def test_task_in_a_venv_sees_its_python_and_packages(self):
        res = self.client.run("inspect.py", [PKG], type="inv")
        self.assertDone(res)
        out = res["result"]
        self.assertEqual(out["executable"], os.path.join(self.venv, "bin", "python3"), out)
        self.assertEqual(out["prefix"], self.venv, out)
        self.assertEqual(out["base_prefix"], "/usr", out)
        site = os.path.join(self.venv, "lib", "python" + PY_MM, "site-packages")
        self.assertEqual(out["file"], os.path.join(site, PKG, "__init__.py"), out)
        self.assertEqual(out["value"], "from the venv")
        self.assertIn(site, out["path"])
        self.assertNotIn("/usr/lib/python3/dist-packages", out["path"])   # no system site-packages

    def test_pool_without_a_venv_runs_debians_python(self):
        res = self.client.run("inspect.py", [PKG], type="io")
        self.assertDone(res)
        out = res["result"]
        self.assertEqual(out["executable"], "/usr/bin/python3", out)
        self.assertEqual(out["prefix"], "/usr", out)
        self.assertIn("No module named '%s'" % PKG, out["import_error"])

    def test_python_path_comes_ahead_of_site_packages(self):
        for pool, site in (("io", "/usr/lib/python3/dist-packages"),
                           ("inv", os.path.join(self.venv, "lib", "python" + PY_MM, "site-packages"))):
            res = self.client.run("inspect.py", ["zfleet_path_helper"], type=pool)
            self.assertDone(res)
            out = res["result"]
            self.assertEqual(out["value"], "from python.path", out)
            path = out["path"]
            self.assertLess(path.index(self.extra), path.index(site), path)
            # The stdlib stays first.
            self.assertLess(path.index("/usr/lib/python" + PY_MM), path.index(self.extra), path)
            self.assertIn(self.fleet.tasks_dir, path)


class VenvOfAnotherPython(FleetTestCase):
    FLEET = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="zfleet-it-venv-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.tasks = os.path.join(self.tmp, "tasks")
        os.makedirs(self.tasks)

    def run_worker(self, *args):
        proc = subprocess.run([WORKER_BIN, "--backend", "tcp://127.0.0.1:1", "--status",
                               "tcp://127.0.0.1:2"] + list(args),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30, cwd=self.tmp)
        return proc.returncode, proc.stderr.decode(errors="replace")

    def test_flag_venv_of_another_version_is_exit_2(self):
        venv = fake_venv(self.tmp, "3.2.0")
        code, err = self.run_worker("--script-root", self.tasks, "--venv", venv)
        self.assertEqual(code, 2, err)
        self.assertIn("venv %s was made with Python 3.2.0" % venv, err)
        self.assertIn("embeds Python " + PY_MM, err)
        self.assertIn("(--venv)", err)

    def test_config_venv_of_another_version_is_exit_2(self):
        venv = fake_venv(self.tmp, "3.2.0")
        config = os.path.join(self.tmp, "fleet.yaml")
        with open(config, "w") as f:
            f.write("python: {script_roots: [tasks]}\n"
                    "workers: {pools: {old: {processes: 0, venv: %s}}}\n" % venv)
        code, err = self.run_worker("-c", config, "--type", "old")
        self.assertEqual(code, 2, err)
        self.assertIn("venv %s was made with Python 3.2.0" % venv, err)
        self.assertIn("embeds Python " + PY_MM, err)
        self.assertIn("workers.pools.old.venv", err)

    def test_broker_with_a_local_pool_in_such_a_venv_does_not_start(self):
        venv = fake_venv(self.tmp, "3.2.0")
        config = os.path.join(self.tmp, "fleet.yaml")
        ports = free_ports(4)
        with open(config, "w") as f:
            f.write("broker: {frontend: tcp://127.0.0.1:%d, results: tcp://127.0.0.1:%d, "
                    "backend: tcp://127.0.0.1:%d, status: tcp://127.0.0.1:%d}\n" % tuple(ports))
            f.write("workers:\n  pools:\n    old: {processes: 1, venv: %s}\n" % venv)
        proc = subprocess.run([BROKER_BIN, "--config", config], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        err = proc.stderr.decode(errors="replace")
        self.assertEqual(proc.returncode, 2, err)
        self.assertIn("fleet.yaml:4: workers.pools.old.venv: venv %s was made with Python 3.2.0" % venv, err)
        self.assertIn("embeds Python " + PY_MM, err)

    def test_folder_without_pyvenv_cfg_is_exit_2(self):
        code, err = self.run_worker("--script-root", self.tasks, "--venv", self.tasks)
        self.assertEqual(code, 2, err)
        self.assertIn("venv %s is not a virtualenv" % self.tasks, err)


if __name__ == "__main__":
    import unittest
    unittest.main()
