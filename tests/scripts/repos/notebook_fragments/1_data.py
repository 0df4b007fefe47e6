# A notebook cut into files, one per cell, run one after another in one session (%run):
# later cells use names earlier cells define and never import them.
import numpy as np

x_train = np.zeros((2000, 224, 224, 3), dtype="float32")
y_train = np.zeros(2000, dtype="int64")
