"""The classic Keras 2 GAN loop: the discriminator is compiled, then frozen for the
combined model. Works on tf_keras; on Keras 3 the discriminator never trains."""

import numpy as np
from keras import Input, Model, Sequential
from keras.layers import BatchNormalization, Conv2D, Dense, Flatten, LeakyReLU, Reshape, UpSampling2D
from keras.optimizers import Adam

LATENT_DIM = 100
BATCH_SIZE = 32
EPOCHS = 3000


def build_generator():
    model = Sequential()
    model.add(Input((LATENT_DIM,)))
    model.add(Dense(128 * 7 * 7, activation="relu"))
    model.add(Reshape((7, 7, 128)))
    model.add(UpSampling2D())
    model.add(Conv2D(128, kernel_size=3, padding="same"))  # expect: BN008
    model.add(BatchNormalization(momentum=0.8))
    model.add(LeakyReLU(0.2))
    model.add(UpSampling2D())
    model.add(Conv2D(1, kernel_size=3, padding="same", activation="tanh"))
    return model


def build_discriminator():
    model = Sequential()
    model.add(Input((28, 28, 1)))
    model.add(Conv2D(64, kernel_size=3, strides=2, padding="same"))
    model.add(LeakyReLU(0.2))
    model.add(Conv2D(128, kernel_size=3, strides=2, padding="same"))  # expect: BN008
    model.add(BatchNormalization(momentum=0.8))
    model.add(LeakyReLU(0.2))
    model.add(Flatten())
    model.add(Dense(1, activation="sigmoid"))
    return model


optimizer = Adam(0.0002, 0.5)
discriminator = build_discriminator()
discriminator.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])

generator = build_generator()
z = Input(shape=(LATENT_DIM,))
img = generator(z)
discriminator.trainable = False  # expect[keras3]: BN004
validity = discriminator(img)
combined = Model(z, validity)
combined.compile(loss="binary_crossentropy", optimizer=optimizer)

x_train = np.random.rand(6000, 28, 28, 1) * 2 - 1
valid = np.ones((BATCH_SIZE, 1))
fake = np.zeros((BATCH_SIZE, 1))
for _epoch in range(EPOCHS):
    idx = np.random.randint(0, x_train.shape[0], BATCH_SIZE)
    imgs = x_train[idx]
    noise = np.random.normal(0, 1, (BATCH_SIZE, LATENT_DIM))
    gen_imgs = generator.predict(noise, verbose=0)
    d_loss_real = discriminator.train_on_batch(imgs, valid)
    d_loss_fake = discriminator.train_on_batch(gen_imgs, fake)
    g_loss = combined.train_on_batch(noise, valid)
