"""Builds the C extension dnalm._bpe; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dnalm._bpe", sources=["src/dnalm/_bpe.c"], extra_compile_args=["-O3", "-fno-wrapv", "-pthread"], extra_link_args=["-pthread"])])
