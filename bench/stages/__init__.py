"""The stages of one cell, run in its own process (bench/stages/cell_process.py): training
(data -> model -> fine-tune -> evaluate -> save) and deployment (compress -> backends ->
evaluate + time)."""
