"""The entry script of a repository: the model is built and changed in the package at
the repository root (found on disk, interpreted, never imported). Findings point here."""

from project.models import build, unfreeze_top

model, base = build("mobilenet")  # expect: BN001
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=3)

second, second_base = build()
second.compile("adam", "sparse_categorical_crossentropy")
second.fit(train_ds, epochs=3)
unfreeze_top(second_base, 30)  # expect: BN014
second.compile("adam", "sparse_categorical_crossentropy")
second.fit(train_ds, epochs=3)
