# Tiny randomly initialised CLIP and CLAP (transformers configs, seeded, no
# download): for tests and for timing the pipeline on a CPU. The features
# mean nothing. 8-d image, 8-d audio, 16-d text embeddings.
#   python tools/dataset_converters/extract_features.py ucf VIDEOS \
#       --extractor-cfg configs/_base_/extractors/clipclap_tiny_random.py
_text = dict(vocab_size=384, hidden_size=16, intermediate_size=32,
             num_hidden_layers=1, num_attention_heads=2,
             max_position_embeddings=64, bos_token_id=0, eos_token_id=1,
             pad_token_id=0)
clip = dict(
    config=dict(
        text_config=_text,
        vision_config=dict(hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=8),
    processor=dict(size=dict(shortest_edge=32),
                   crop_size=dict(height=32, width=32)))
clap = dict(
    config=dict(
        text_config=_text,
        audio_config=dict(hidden_size=16, depths=[1, 1],
                          num_attention_heads=[1, 2],
                          patch_embeds_hidden_size=8, enable_fusion=False,
                          window_size=4, spec_size=64, num_mel_bins=16),
        projection_dim=8),
    # 8 kHz log-mel with 16 bins; 10 s -> 251 frames <= spec_size * 4
    processor=dict(feature_size=16, sampling_rate=8000, hop_length=320,
                   fft_window_size=256, max_length_s=10,
                   frequency_max=4000, truncation='rand_trunc'))
