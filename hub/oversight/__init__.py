"""Supervision (监管, issue 15): the silence monitor, 通报 and rectifications (整改、问责) counted in
working days. Services: :mod:`workdays`, :mod:`monitor`, :mod:`rectifications`; faces: :mod:`api`;
the daily job: :mod:`jobs`."""
