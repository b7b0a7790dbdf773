# Training-speed levers of the shapes demo config, each alone against the
# config as it was before them (`reference`: float32, the for-loop AdamW;
# the demo config has since adopted bf16 autocast and the fused AdamW, run
# `adopted`): compare them side by side with
#   python tools/profile_train.py configs/shapes/sweeps/speed_levers.py \
#       --rounds 3 --cfg-options randomness.seed=0
# (docs/training_speed.md has the measured table). `_base_` makes the
# base's hooks referable below: the channels_last runs add one to them.
_base_ = '../yoloms-xs_fast_1xb8-10e_shapes.py'
base = '../yoloms-xs_fast_1xb8-10e_shapes.py'
# every run starts from the demo config as it was before the levers
common_cfg = dict(
    optim_wrapper=dict(type='OptimWrapper', optimizer=dict(fused=None)))

runs = [
    dict(name='reference'),
    dict(name='workers0',
         cfg=dict(train_dataloader=dict(num_workers=0,
                                        persistent_workers=False))),
    dict(name='channels_last',
         cfg=dict(custom_hooks=[*_base_.custom_hooks,
                                dict(type='MemoryFormatHook')])),
    dict(name='bf16',
         cfg=dict(optim_wrapper=dict(type='CPUAutocastOptimWrapper'))),
    dict(name='channels_last_bf16',
         cfg=dict(custom_hooks=[*_base_.custom_hooks,
                                dict(type='MemoryFormatHook')],
                  optim_wrapper=dict(type='CPUAutocastOptimWrapper'))),
    dict(name='adamw_foreach',
         cfg=dict(optim_wrapper=dict(optimizer=dict(foreach=True)))),
    dict(name='adamw_fused',
         cfg=dict(optim_wrapper=dict(optimizer=dict(fused=True)))),
    dict(name='workers0_channels_last_bf16_foreach',
         cfg=dict(train_dataloader=dict(num_workers=0,
                                        persistent_workers=False),
                  custom_hooks=[*_base_.custom_hooks,
                                dict(type='MemoryFormatHook')],
                  optim_wrapper=dict(type='CPUAutocastOptimWrapper',
                                     optimizer=dict(foreach=True)))),
    dict(name='adopted',
         cfg=dict(optim_wrapper=dict(type='CPUAutocastOptimWrapper',
                                     optimizer=dict(fused=True)))),
]
