"""Builds the C extension dnalm.vocab._bpe; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dnalm.vocab._bpe", sources=["src/dnalm/vocab/_bpe.c"], extra_compile_args=["-O3", "-fno-wrapv", "-pthread"], extra_link_args=["-pthread"])])
