"""draftbot: persona-consistent reply drafts for WeCom, sent only after a human approves them."""
