"""The live playground: `chainrule playground` serves three pages on 127.0.0.1.

* the expression lab (`expression_lab`): type an expression in the CLI's language, step through
  its forward and backward passes node by node (`cr.viz.steps`), check a derivative you typed;
* the network lab (`network_lab`): train a small MLP on a 2-D data set live, with the decision
  boundary, the curves and the network drawn as it learns;
* the course's exercises (`presets`), each opening one of the labs with its closed form beside.

`app.create_app()` is the Starlette application (the `web` extra: `pip install
"chainrule[web]"`); each browser tab is a session of its own (`sessions`). The page's
libraries (viz.js, uPlot) are vendored under `static/vendor/`, so it works offline.
"""
