"""The board pack in rooms: the model (:mod:`reports.pack.model`) and building it (:mod:`reports.pack.build`)."""
