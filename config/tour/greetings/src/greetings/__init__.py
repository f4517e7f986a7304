"""The package the README tour installs into a virtualenv."""


def greet(name):
    return "greetings, " + name
