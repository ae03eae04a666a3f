from setuptools import setup

setup(
    name="ml-jobs",
    install_requires=[
        "jinja2==2.10",
        "numpy>=1.26",
    ],
)
