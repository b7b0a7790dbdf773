# The seed spread of the shapes sweep: YOLO-MS-XS (the `yoloms-xs-k3579`
# run of shapes_demo.py, seed 0) trained again from seeds 1 and 2, with the
# same schedule options as `make sweep-demo`. The AP differences between
# these runs are what a different random state alone does.
base = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'

runs = [
    dict(name='yoloms-xs-seed1', cfg=dict(randomness=dict(seed=1))),
    dict(name='yoloms-xs-seed2', cfg=dict(randomness=dict(seed=2))),
]
