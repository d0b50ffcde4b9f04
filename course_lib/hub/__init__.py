"""A JupyterHub for the course on this machine: ``make hub`` (see :mod:`.provision`).

Students log in, fetch PS4 in JupyterLab's *Assignments* panel, validate and submit it
through nbgrader's exchange; the instructor releases and collects with
``course release|collect|feedback ps4_mlp --exchange``. Each user's server runs in a
bubblewrap sandbox that shows it only the system, the course's Python environment, its
own home and the exchange (:mod:`.spawner`).
"""
