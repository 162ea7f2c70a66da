# Default-size CLIP ViT-B/32 and LAION CLAP HTSAT (unfused) architectures,
# randomly initialised (seeded, no download): times the real pipeline's
# compute without the weights. The features mean nothing.
clip = dict(config=dict(projection_dim=512))
clap = dict(config=dict(projection_dim=512,
                        audio_config=dict(enable_fusion=False)),
            processor=dict(truncation='rand_trunc'))
