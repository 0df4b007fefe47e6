layer_num = 150
for round in range(3):
    fine_tune(layer_num)  # expect: BN014
