<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP" sourcelanguage="en">
<context>
    <name>NoisySeg</name>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>The filter of layer “{}” is ignored: the backend reads the whole file</source>
        <translation>レイヤ「{}」のフィルタは無視されます：バックエンドはファイル全体を読み込みます</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Export noisy dataset</source>
        <translation>ノイジーデータセットをエクスポート</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Image</source>
        <translation>画像</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Label layers (vector or classified raster)</source>
        <translation>ラベルレイヤ（ベクタまたは分類済みラスタ）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Class field</source>
        <translation>クラスフィールド</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Class map (classes.json)</source>
        <translation>クラス定義（classes.json）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Unlabelled pixels become</source>
        <translation>ラベルのないピクセルの扱い</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Burn every pixel a feature touches</source>
        <translation>地物が接するすべてのピクセルに書き込む</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Attribute encoding of the vector files</source>
        <translation>ベクタファイルの属性のエンコーディング</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Stride between tiles (pixels; default: the tile size)</source>
        <translation>タイルの間隔（ピクセル、既定値：タイルサイズ）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Minimum valid fraction of a tile</source>
        <translation>タイル内の有効ピクセルの最小割合</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Train, validation and test fractions</source>
        <translation>学習・検証・テストの割合</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Seed of the split</source>
        <translation>分割の乱数シード</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Dataset folder</source>
        <translation>データセットフォルダ</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Replace the dataset folder if it exists</source>
        <translation>データセットフォルダが存在する場合は置き換える</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Tiles written</source>
        <translation>書き出したタイル数</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Manifest</source>
        <translation>マニフェスト</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Epochs</source>
        <translation>エポック数</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Batch size (tiles)</source>
        <translation>バッチサイズ（タイル数）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Learning rate</source>
        <translation>学習率</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Seed</source>
        <translation>乱数シード</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Weight decay</source>
        <translation>重み減衰</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Learning-rate schedule</source>
        <translation>学習率スケジュール</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Train on random crops of this size (a multiple of 32)</source>
        <translation>このサイズのランダム切り出しで学習する（32の倍数）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Label smoothing</source>
        <translation>ラベルスムージング</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Weight the loss by inverse class frequency</source>
        <translation>損失をクラス頻度の逆数で重み付けする</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Stop after this many epochs without improvement</source>
        <translation>改善がないまま指定エポック数が経過したら停止する</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Run folder</source>
        <translation>実行フォルダ</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Replace the run folder if it exists</source>
        <translation>実行フォルダが存在する場合は置き換える</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Resume the run in the run folder</source>
        <translation>実行フォルダ内の学習を再開する</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Model checkpoint</source>
        <translation>モデルのチェックポイント</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Validation mIoU of the last epoch</source>
        <translation>最終エポックの検証 mIoU</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Pretrain on noisy labels</source>
        <translation>ノイジーラベルで事前学習</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Method</source>
        <translation>手法</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder</source>
        <translation>エンコーダ</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Decoder</source>
        <translation>デコーダ</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder width</source>
        <translation>エンコーダの幅</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>SimCLR epochs (default: Epochs)</source>
        <translation>SimCLR のエポック数（既定値：エポック数）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>SimCLR temperature (default 0.2)</source>
        <translation>SimCLR の温度（既定値 0.2）</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Fine-tune on clean labels</source>
        <translation>クリーンラベルでファインチューニング</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Pretrained model (model.pt; empty: train from scratch)</source>
        <translation>事前学習済みモデル（model.pt、空欄ならゼロから学習）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Parts copied from the pretrained model</source>
        <translation>事前学習済みモデルから引き継ぐ部分</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Frozen parts</source>
        <translation>固定する部分</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Decoder (default: the pretrained model&apos;s)</source>
        <translation>デコーダ（既定値：事前学習済みモデルのもの）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Maximum train tiles (default: all)</source>
        <translation>学習タイルの最大数（既定値：すべて）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder, when training from scratch</source>
        <translation>エンコーダ（ゼロから学習する場合）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder width, when training from scratch</source>
        <translation>エンコーダの幅（ゼロから学習する場合）</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Predict with an ONNX model</source>
        <translation>ONNX モデルで予測</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Model (model.onnx)</source>
        <translation>モデル（model.onnx）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Extent (default: the whole image)</source>
        <translation>領域（既定値：画像全体）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Tile size, a multiple of 32 (default: the model&apos;s)</source>
        <translation>タイルサイズ、32の倍数（既定値：モデルの値）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Overlap between tiles (default: the model&apos;s)</source>
        <translation>タイルの重なり（既定値：モデルの値）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>CPU threads (default: all cores)</source>
        <translation>CPU スレッド数（既定値：全コア）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Read the image at the model&apos;s resolution</source>
        <translation>モデルの解像度で画像を読み込む</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Existing map to compare with</source>
        <translation>比較する既存の地図</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Class field of the existing map (default: the one the model was trained from)</source>
        <translation>既存の地図のクラスフィールド（既定値：モデルの学習に使ったもの）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Confidence</source>
        <translation>信頼度</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Classes</source>
        <translation>クラス</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Disagreement</source>
        <translation>不一致</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>No style for {}: {}</source>
        <translation>{} にスタイルを設定できません：{}</translation>
    </message>
    <message>
        <location filename="../processing/provider.py"/>
        <source>Noisy labels segmentation</source>
        <translation>ノイジーラベル セグメンテーション</translation>
    </message>
    <message>
        <location filename="../bridge/process.py"/>
        <source>Could not start the backend ({})</source>
        <translation>バックエンドを起動できませんでした（{}）</translation>
    </message>
    <message>
        <location filename="../processing/runner.py"/>
        <source>Cancelling: the backend stops at its next step</source>
        <translation>キャンセル中：バックエンドは次のステップで停止します</translation>
    </message>
    <message>
        <location filename="../bridge/process.py"/>
        <source>The backend was killed by signal {} (out of memory?)</source>
        <translation>バックエンドがシグナル {} で強制終了されました（メモリ不足の可能性があります）</translation>
    </message>
    <message>
        <location filename="../bridge/process.py"/>
        <source>The backend exited with code {}</source>
        <translation>バックエンドが終了コード {} で終了しました</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Burns the classes of one or more label layers (vector maps or classified rasters, later over earlier) onto the grid of the image and cuts both into image/mask tile pairs: the noisy labels for pretraining.
Class field: without it every feature is one class; with it each distinct value is a class, unless a classes.json maps values to classes. Unlabelled pixels become background (for complete maps such as buildings) or ignore (for incomplete maps). Tiles are split into train/val/test by spatial blocks.
The output folder holds manifest.json, classes.json and georeferenced tiles under images/ and masks/.</source>
        <translation>1 つ以上のラベルレイヤ（ベクタ地図または分類済みラスタ。後のレイヤが前のレイヤの上に書き込まれます）のクラスを画像のグリッド上に書き込み、画像とラベルを画像／マスクのタイルの組に切り分けます。これが事前学習用のノイジーラベルになります。
クラスフィールド：指定しない場合はすべての地物が 1 つのクラスになります。指定した場合は、classes.json で値とクラスの対応を定義しない限り、異なる値ごとに 1 つのクラスになります。ラベルのないピクセルは background（背景：建物のように漏れのない地図向け）または ignore（無視：漏れのある地図向け）になります。タイルは空間ブロック単位で train/val/test に分割されます。
出力フォルダには manifest.json、classes.json と、images/ および masks/ 以下のジオリファレンス済みタイルが格納されます。</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Trains an encoder-decoder on a dataset from “Export noisy dataset”.
noisy: cross-entropy on the noisy masks (Liu et al., 2024: the encoder learns well even from wrong labels). simclr: contrastive learning on the images alone (Chen et al., 2020). simclr+noisy: SimCLR, then noisy training from that encoder.
Training runs in the backend's Python (on the GPU when there is one). Cancel stops at the next batch and keeps last.pt, from which “Resume” continues. The run folder holds model.pt (the best epoch), last.pt, history.json and curves.png.</source>
        <translation>「ノイジーデータセットをエクスポート」で作成したデータセットで、エンコーダ・デコーダ型のモデルを学習します。
noisy：ノイジーなマスクに対する交差エントロピーで学習します（Liu et al., 2024：誤ったラベルからでもエンコーダはよく学習します）。simclr：画像だけを使った対照学習です（Chen et al., 2020）。simclr+noisy：SimCLR の後、そのエンコーダからノイジーラベルで学習します。
学習はバックエンドの Python で実行されます（GPU があれば GPU を使用します）。キャンセルすると次のバッチで停止して last.pt を残し、「実行フォルダ内の学習を再開する」でそこから続行できます。実行フォルダには model.pt（最良のエポック）、last.pt、history.json、curves.png が格納されます。</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Fine-tunes a pretrained model.pt on a few clean tiles (a dataset exported from corrected labels). Without a pretrained model it trains from scratch, the baseline.
The class set may differ from pretraining: the head (and the decoder, unless transferred) starts fresh. Transfer auto copies the whole model when the classes and decoder are unchanged, else the encoder. Freeze takes none, encoder, or blocks such as stem,layer1,layer2. Maximum tiles draws that many train tiles with the seed.</source>
        <translation>事前学習済みの model.pt を少数のクリーンなタイル（修正したラベルからエクスポートしたデータセット）でファインチューニングします。事前学習済みモデルを指定しない場合は、ベースラインとしてゼロから学習します。
クラス構成は事前学習時と異なっていてもかまいません。出力層（および引き継がない場合はデコーダ）は新しく初期化されます。引き継ぐ部分を auto にすると、クラスとデコーダが変わらなければモデル全体を、そうでなければエンコーダをコピーします。固定する部分には none、encoder、または stem,layer1,layer2 のようなブロックを指定します。学習タイルの最大数を指定すると、乱数シードに従ってその枚数の学習タイルを抽出します。</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Predicts the classes of a raster (or of an extent of it) with a model.onnx from the backend&apos;s export-onnx. The model carries its classes, bands and normalisation. Tiles overlap and are blended smoothly, so there are no seams; memory stays small whatever the raster&apos;s size.
The class raster opens with the model&apos;s class names and colours; the optional confidence raster is the largest class probability in percent. With an existing map, a disagreement raster is also written beside the output (OUTPUT_disagreement.tif): where the model and the map differ.
Existing output files are replaced. Needs no torch: onnxruntime only.</source>
        <translation>バックエンドの export-onnx で書き出した model.onnx を使って、ラスタ（またはその一部の領域）のクラスを予測します。モデルはクラス、バンド、正規化の情報を保持しています。タイルは重ね合わせて滑らかにブレンドされるため継ぎ目が出ず、ラスタのサイズにかかわらずメモリ使用量は小さく抑えられます。
クラスラスタはモデルのクラス名と色で表示されます。オプションの信頼度ラスタは、最も大きいクラス確率をパーセントで表したものです。既存の地図を指定すると、モデルと地図が異なる箇所を示す不一致ラスタも出力の横（OUTPUT_disagreement.tif）に書き出されます。
既存の出力ファイルは上書きされます。torch は不要で、onnxruntime だけで動作します。</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Start the encoder from (ImageNet: torchvision&apos;s weights, downloaded once; base width 64)</source>
        <translation>エンコーダの初期値（ImageNet：torchvision の重み、初回のみダウンロード、基本の幅 64）</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>…or from this weights file (a torchvision or timm ResNet state dict, .pth)</source>
        <translation>…または、この重みファイルから（torchvision か timm の ResNet の state dict、.pth）</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>PyTorch weights (*.pth *.pt)</source>
        <translation>PyTorch の重み (*.pth *.pt)</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Start the encoder from ImageNet or from a weights file, not both</source>
        <translation>エンコーダの初期値は ImageNet か重みファイルのどちらか一方にしてください</translation>
    </message>
    <message>
        <location filename="../bridge/process.py"/>
        <source>No Python found for the backend; set it under the plugin&apos;s settings</source>
        <translation>バックエンド用の Python が見つかりません。プラグインの設定で指定してください</translation>
    </message>
    <message>
        <location filename="../bridge/process.py"/>
        <source>cancelled</source>
        <translation>キャンセルしました</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Replace the output if it exists</source>
        <translation>出力が既にあれば置き換える</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Warm-up fraction of the steps</source>
        <translation>ウォームアップに使うステップの割合</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Normalisation (image: each image by its own statistics)</source>
        <translation>正規化（image: 画像ごとにその画像の統計で）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Photometric jitter of the training tiles (0: off)</source>
        <translation>学習タイルの明るさ・コントラストのゆらぎ（0: なし）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder weights (a .pth file, imagenet or none)</source>
        <translation>エンコーダーの重み（.pth ファイル、imagenet または none）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Bands holding red, green and blue (e.g. 3,2,1)</source>
        <translation>赤・緑・青のバンド番号（例: 3,2,1）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Tile size (pixels, a multiple of 32)</source>
        <translation>タイルサイズ（ピクセル、32 の倍数）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Nodata value of the image (a number or none)</source>
        <translation>画像の NoData 値（数値または none）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Export even a very large grid or with little free space</source>
        <translation>非常に大きなグリッドや空き容量が少なくてもエクスポートする</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Encoder learning rate, as a fraction of the learning rate</source>
        <translation>エンコーダーの学習率（学習率に対する比）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Train only on tiles that contain this class</source>
        <translation>このクラスを含むタイルだけで学習する</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Confidence as uint8 percent or float32 0..1</source>
        <translation>信頼度を uint8 のパーセントまたは float32 の 0..1 で</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Probabilities (one band per class)</source>
        <translation>確率（クラスごとに 1 バンド）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Predict even a very large grid or with little free space</source>
        <translation>非常に大きなグリッドや空き容量が少なくても予測する</translation>
    </message>
    <message>
        <location filename="../processing/algorithms.py"/>
        <source>Extent to render a web or memory layer over</source>
        <translation>Web・メモリレイヤを描画する範囲</translation>
    </message>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>Ground resolution to render a web or memory layer at (map units of the extent&apos;s CRS per pixel)</source>
        <translation>Web・メモリレイヤを描画する地上解像度（範囲のCRSの地図単位/ピクセル）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Area of interest (polygons, any CRS): only tiles that meet it, nodata outside</source>
        <translation>対象範囲（ポリゴン、任意のCRS）：交わるタイルのみ計算し、範囲外はnodata</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Polygons (GeoPackage)</source>
        <translation>ポリゴン（GeoPackage）</translation>
    </message>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>Layer “{}” is not a file: give the extent to render it over</source>
        <translation>レイヤ「{}」はファイルではありません：描画する範囲を指定してください</translation>
    </message>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>Rendering needs a projected CRS (metres); set the extent in one</source>
        <translation>描画には投影座標系（メートル）が必要です。範囲を投影座標系で指定してください</translation>
    </message>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>Rendering “{}” at {} units per pixel (RGB 8-bit; its licence is yours to respect)</source>
        <translation>「{}」を1ピクセル{}単位で描画しています（RGB 8ビット。ライセンスの遵守は利用者の責任です）</translation>
    </message>
    <message>
        <location filename="../processing/layer_parameters.py"/>
        <source>Rendered {} × {} pixels into {}</source>
        <translation>{} × {} ピクセルを {} に描画しました</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Vectorize a prediction</source>
        <translation>予測をベクタ化</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Writes a class raster of Predict as polygons in a GeoPackage: one layer with the class id and name, styled by class, the mean confidence per polygon (from the confidence raster beside it), simplified to about a pixel; polygons and holes smaller than the minimum area are dropped. Memory stays small whatever the raster&apos;s size. Existing output files are replaced.</source>
        <translation>予測のクラスラスタをGeoPackageのポリゴンとして書き出します：クラスIDと名前を持つ1つのレイヤで、クラス別にスタイル設定され、ポリゴンごとの平均信頼度（隣の信頼度ラスタから）を持ち、約1ピクセルで単純化されます。最小面積未満のポリゴンと穴は除去されます。ラスタの大きさにかかわらずメモリ使用量は小さいままです。既存の出力ファイルは置き換えられます。</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Class raster (of Predict)</source>
        <translation>クラスラスタ（予測の出力）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Confidence raster (default: the one beside it)</source>
        <translation>信頼度ラスタ（既定：隣にあるもの）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Minimum area, square map units (default: 4 pixels)</source>
        <translation>最小面積、地図単位の平方（既定：4ピクセル）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Simplification tolerance, map units (default: one pixel)</source>
        <translation>単純化の許容値、地図単位（既定：1ピクセル）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Polygons</source>
        <translation>ポリゴン</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Polygons written</source>
        <translation>書き出したポリゴン数</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>The polygons are written as a GeoPackage: give a .gpkg file</source>
        <translation>ポリゴンはGeoPackageとして書き出されます：.gpkgファイルを指定してください</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Predicted classes (polygons)</source>
        <translation>予測クラス（ポリゴン）</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Compare an old map with a prediction</source>
        <translation>旧地図と予測を比較</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>For every polygon of the old map: its old class, the predicted majority class and its share, the mean confidence, and whether it changed. The GeoPackage layer is sorted so that confident changes come first; changed polygons are drawn in red. With the model, the old map&apos;s values are mapped as in training. Existing output files are replaced.</source>
        <translation>旧地図のすべてのポリゴンについて：旧クラス、予測の多数派クラスとその割合、平均信頼度、変化したかどうか。GeoPackageのレイヤは確信度の高い変化が先頭に来るよう並べられ、変化したポリゴンは赤で描かれます。モデルを指定すると、旧地図の値は学習時と同じ対応でクラスに割り当てられます。既存の出力ファイルは置き換えられます。</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Old map (polygons)</source>
        <translation>旧地図（ポリゴン）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Class field of the old map (default: the model&apos;s training field)</source>
        <translation>旧地図のクラスフィールド（既定：モデルの学習時のフィールド）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Model (model.onnx) that made the prediction</source>
        <translation>予測を行ったモデル（model.onnx）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Map changes</source>
        <translation>地図の変化</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>Changed polygons</source>
        <translation>変化したポリゴン数</translation>
    </message>
    <message>
        <location filename="../processing/vector_algorithms.py"/>
        <source>The report is written as a GeoPackage: give a .gpkg file</source>
        <translation>レポートはGeoPackageとして書き出されます：.gpkgファイルを指定してください</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Attribute encoding of the existing map</source>
        <translation>既存の地図の属性エンコーディング</translation>
    </message>
    <message>
        <location filename="../processing/suggest_algorithm.py"/>
        <source>Suggest tiles to correct</source>
        <translation>修正するタイルを提案</translation>
    </message>
    <message>
        <location filename="../processing/suggest_algorithm.py"/>
        <source>Ranks the tiles of a dataset from “Export noisy dataset” by how much a model.onnx doubts them: 1 - its mean confidence, its disagreement with the noisy mask, or the mean of the two. Correct the highest first, then fine-tune on them.
With an area of interest (polygons, any CRS) only the tiles that meet it are ranked, on their pixels inside it.
The suggested tiles are written as polygons in the dataset's CRS, best first (rank 1), with their score, confidence and disagreement; the optional JSON file holds every tile's scores. Needs no torch: onnxruntime only.</source>
        <translation>「ノイジーデータセットをエクスポート」で作ったデータセットのタイルを、model.onnx の自信のなさで順位付けします：1 - 平均確信度、ノイズのあるマスクとの不一致、またはその二つの平均。上位のタイルから修正し、それらでファインチューニングします。
対象範囲（ポリゴン、任意のCRS）を与えると、それと交わるタイルだけを、範囲内の画素で順位付けします。
提案されたタイルは、データセットのCRSのポリゴンとして、スコアの高い順（rank 1 が最初）に、スコア、確信度、不一致とともに書き出されます。任意のJSONファイルには全タイルのスコアが入ります。torch は不要で、onnxruntime だけで動きます。</translation>
    </message>
    <message>
        <location filename="../processing/suggest_algorithm.py"/>
        <source>Suggested tiles</source>
        <translation>提案されたタイル</translation>
    </message>
    <message>
        <location filename="../processing/suggest_algorithm.py"/>
        <source>Tiles scored</source>
        <translation>スコアを付けたタイル数</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Loss (sce, bootstrap and confident are robust to noisy labels)</source>
        <translation>損失関数（sce、bootstrap、confident はノイズのあるラベルに強い）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Dataset folder (its masks are the noisy labels)</source>
        <translation>データセットフォルダ（そのマスクがノイズのあるラベル）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Tiles to suggest</source>
        <translation>提案するタイル数</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Rank by (both: the mean of 1 - confidence and disagreement)</source>
        <translation>順位付けの基準（both：1 - 確信度と不一致の平均）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Split of the tiles to rank</source>
        <translation>順位付けするタイルの分割</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Scores of every tile (JSON)</source>
        <translation>全タイルのスコア（JSON）</translation>
    </message>
    <message>
        <location filename="../spec/commands.py"/>
        <source>Area of interest (polygons, any CRS): only tiles that meet it are ranked, on their pixels inside it</source>
        <translation>対象範囲（ポリゴン、任意のCRS）：交わるタイルのみ、範囲内の画素で順位付け</translation>
    </message>
</context>
<context>
    <name>NoisySegAnnotation</name>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>{} is not a noisyseg dataset folder (manifest.json: {})</source>
        <translation>{} は noisyseg のデータセットフォルダではありません（manifest.json：{}）</translation>
    </message>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>{} is not a noisyseg dataset folder</source>
        <translation>{} は noisyseg のデータセットフォルダではありません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>Tile {} is not in dataset {}</source>
        <translation>タイル {} はデータセット {} にありません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>The dataset&apos;s CRS cannot be read: {}</source>
        <translation>データセットの CRS を読み込めません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot write to {}: {}</source>
        <translation>{} に書き込めません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot create {}: {}</source>
        <translation>{} を作成できません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>{} exists and is not a GeoPackage; pick another file name</source>
        <translation>{} はすでに存在し、GeoPackage ではありません。別のファイル名を選んでください</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot create layer {} in {}: {}</source>
        <translation>{1} にレイヤ {0} を作成できません：{2}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot create field {} in {}: {}</source>
        <translation>{1} にフィールド {0} を作成できません：{2}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>QGIS cannot open layer {} of {}</source>
        <translation>QGIS で {1} のレイヤ {0} を開けません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Layer {} of {} lacks the fields {}; it was not made for clean labels, pick another GeoPackage</source>
        <translation>{1} のレイヤ {0} にはフィールド {2} がありません。クリーンラベル用に作成されたレイヤではないため、別の GeoPackage を選んでください</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Layer {} of {} does not hold polygons; pick another GeoPackage</source>
        <translation>{1} のレイヤ {0} はポリゴンではありません。別の GeoPackage を選んでください</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Layer {} of {} is in {}, but dataset {} is in {}: this GeoPackage belongs to another dataset, pick a new file</source>
        <translation>{1} のレイヤ {0} の CRS は {2} ですが、データセット {3} は {4} です。この GeoPackage は別のデータセットのものなので、新しいファイルを選んでください</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Add the dataset&apos;s tiles</source>
        <translation>データセットのタイルを追加</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot add tiles to {}</source>
        <translation>{} にタイルを追加できません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>noisyseg default style</source>
        <translation>noisyseg の既定スタイル</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Cannot save the style of {} into the GeoPackage: {}</source>
        <translation>{} のスタイルを GeoPackage に保存できません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>Layer {} cannot be edited</source>
        <translation>レイヤ {} は編集できません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>Cannot save layer {}: {}</source>
        <translation>レイヤ {} を保存できません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/base.py"/>
        <source>Tiles {} are not in layer {}</source>
        <translation>タイル {} はレイヤ {} にありません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/prefill.py"/>
        <source>Prefill {} tiles with the noisy labels</source>
        <translation>{} 枚のタイルをノイジーラベルで事前入力</translation>
    </message>
    <message>
        <location filename="../gui/annotation/prefill.py"/>
        <source>Cannot add the prefilled polygons to {}</source>
        <translation>事前入力したポリゴンを {} に追加できません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/prefill.py"/>
        <source>Cannot read the noisy mask {}</source>
        <translation>ノイジーマスク {} を読み込めません</translation>
    </message>
    <message>
        <location filename="../gui/annotation/prefill.py"/>
        <source>Cannot turn the noisy mask {} into polygons: {}</source>
        <translation>ノイジーマスク {} をポリゴンに変換できません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Class</source>
        <translation>クラス</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>A class of the dataset</source>
        <translation>データセットのクラス</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Tile</source>
        <translation>タイル</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Done</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>To do</source>
        <translation>未完了</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Split</source>
        <translation>分割</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Suggestion score</source>
        <translation>提案スコア</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Mark {} tiles done</source>
        <translation>{} 枚のタイルを完了にする</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Mark {} tiles not done</source>
        <translation>{} 枚のタイルを未完了に戻す</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Set the suggestion scores</source>
        <translation>提案スコアを設定</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Cannot save the clean labels: {}</source>
        <translation>クリーンラベルを保存できません：{}</translation>
    </message>
    <message>
        <location filename="../gui/annotation/schema.py"/>
        <source>Clear the noisy dataset&apos;s splits</source>
        <translation>ノイズありデータセットの分割を消去</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Check tile, done</source>
        <translation>検査タイル（完了）</translation>
    </message>
    <message>
        <location filename="../gui/annotation/style.py"/>
        <source>Check tile, to do</source>
        <translation>検査タイル（未完了）</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Record the clean splits</source>
        <translation>クリーンな分割を記録</translation>
    </message>
    <message>
        <location filename="../gui/annotation/edits.py"/>
        <source>Undo the last saved edit</source>
        <translation>最後に保存した編集を取り消す</translation>
    </message>
</context>
<context>
    <name>NoisySegClassTable</name>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>Id</source>
        <translation>ID</translation>
    </message>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>Colour</source>
        <translation>色</translation>
    </message>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>Source values</source>
        <translation>元の値</translation>
    </message>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>Each row is one class. Edit the names, click a colour to change it, and select several rows and press Merge to make their values one class.</source>
        <translation>1行が1つのクラスです。名前は編集でき、色はクリックして変更できます。複数の行を選択して［統合］を押すと、それらの値が1つのクラスになります。</translation>
    </message>
    <message>
        <location filename="../gui/class_table.py"/>
        <source>new class</source>
        <translation>新しいクラス</translation>
    </message>
</context>
<context>
    <name>NoisySegEnvironment</name>
    <message>
        <location filename="../gui/environment.py"/>
        <source>unknown (press Check environment)</source>
        <translation>不明（［環境を確認］を押してください）</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>GPU: {}</source>
        <translation>GPU：{}</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>CPU (no GPU found by torch)</source>
        <translation>CPU（torch が GPU を検出できません）</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>none: torch is missing</source>
        <translation>なし：torch がありません</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Backend</source>
        <translation>バックエンド</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Not checked yet.</source>
        <translation>まだ確認していません。</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Check environment</source>
        <translation>環境を確認</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Set up backend…</source>
        <translation>環境を構築…</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Creates a Python environment with PyTorch and onnxruntime for the training jobs (about 1 GB download, once). QGIS&apos;s own Python is not changed.</source>
        <translation>学習処理用に PyTorch と onnxruntime を含む Python 環境を作成します（初回のみ約 1 GB のダウンロード）。QGIS 自体の Python は変更されません。</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>No Python found for the backend: press Set up backend…</source>
        <translation>バックエンド用の Python が見つかりません：［環境を構築…］を押してください</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Checking the backend environment</source>
        <translation>バックエンド環境を確認しています</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Python {python} · torch {torch} · {device} · onnxruntime {ort} · qgis_noisyseg {version}</source>
        <translation>Python {python} · torch {torch} · {device} · onnxruntime {ort} · qgis_noisyseg {version}</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>missing</source>
        <translation>なし</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Folder for the backend environment</source>
        <translation>バックエンド環境のフォルダ</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Backend environment ready in {}</source>
        <translation>バックエンド環境を {} に準備しました</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Setting up the backend failed: {}</source>
        <translation>バックエンドのセットアップに失敗しました：{}</translation>
    </message>
    <message>
        <location filename="../gui/environment.py"/>
        <source>Backend ready: {}</source>
        <translation>バックエンドの準備完了: {}</translation>
    </message>
</context>
<context>
    <name>NoisySegLayers</name>
    <message>
        <location filename="../bridge/layers.py"/>
        <source>Layer “{}” is not a file the backend can read; save it as a GeoPackage, Shapefile or GeoTIFF first</source>
        <translation>レイヤ「{}」はバックエンドが読み込めるファイルではありません。先に GeoPackage、シェープファイル、GeoTIFF のいずれかで保存してください</translation>
    </message>
    <message>
        <location filename="../gui/layers.py"/>
        <source>QGIS cannot open {}</source>
        <translation>QGIS で {} を開けません</translation>
    </message>
</context>
<context>
    <name>NoisySegLossCurve</name>
    <message>
        <location filename="../gui/loss_curve.py"/>
        <source>The loss curve appears here while training runs</source>
        <translation>学習中はここに損失曲線が表示されます</translation>
    </message>
    <message>
        <location filename="../gui/loss_curve.py"/>
        <source>loss</source>
        <translation>損失</translation>
    </message>
    <message>
        <location filename="../gui/loss_curve.py"/>
        <source>validation mIoU</source>
        <translation>検証 mIoU</translation>
    </message>
    <message>
        <location filename="../gui/loss_curve.py"/>
        <source>epoch {}</source>
        <translation>エポック {}</translation>
    </message>
</context>
<context>
    <name>NoisySegMetrics</name>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>mIoU</source>
        <translation>mIoU</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>Accuracy</source>
        <translation>精度</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>IoU {}</source>
        <translation>IoU {}</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>Score</source>
        <translation>スコア</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>fine-
tuned</source>
        <translation>ファイン
チューニング</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>pre-
trained</source>
        <translation>事前
学習のみ</translation>
    </message>
    <message>
        <location filename="../gui/metrics_table.py"/>
        <source>scratch</source>
        <translation>スクラッチ</translation>
    </message>
</context>
<context>
    <name>NoisySegPanel</name>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Noisy labels segmentation</source>
        <translation>ノイジーラベル セグメンテーション</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>1. Data</source>
        <translation>1. データ</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>2. Pretrain</source>
        <translation>2. 事前学習</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>3. Annotate clean tiles</source>
        <translation>3. クリーンタイルのアノテーション</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>4. Fine-tune</source>
        <translation>4. ファインチューニング</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>5. Predict and review</source>
        <translation>5. 予測と確認</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Another job is running; wait for it or cancel it first.</source>
        <translation>別の処理を実行中です。終了を待つか、先にキャンセルしてください。</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Cancelling… (the backend stops at the next batch and saves its checkpoint)</source>
        <translation>キャンセル中…（バックエンドは次のバッチで停止し、チェックポイントを保存します）</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>epoch {epoch}: loss {loss:.4f}{miou}</source>
        <translation>エポック {epoch}：損失 {loss:.4f}{miou}</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Cancelled</source>
        <translation>キャンセルしました</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Cancelled. Finished outputs and checkpoints are kept.</source>
        <translation>キャンセルしました。完成済みの出力とチェックポイントは残してあります。</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Failed</source>
        <translation>失敗</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Open clean-label layer</source>
        <translation>クリーンラベルレイヤを開く</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Prefill selected tiles</source>
        <translation>選択したタイルを事前入力</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Edit clean labels</source>
        <translation>クリーンラベルを編集</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>No clean-label layer yet: export a dataset first.</source>
        <translation>クリーンラベルレイヤがまだありません。先にデータセットをエクスポートしてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Export a noisy dataset first (step 1).</source>
        <translation>先にノイジーデータセットをエクスポートしてください（ステップ 1）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Pretrain a model first (step 2).</source>
        <translation>先にモデルを事前学習してください（ステップ 2）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Ranking tiles by the model&apos;s uncertainty</source>
        <translation>モデルの不確かさでタイルを順位付けしています</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Added {} noisy-label polygons to {} tiles; tiles that already had clean labels were left as they are.</source>
        <translation>{} 個のノイジーラベルのポリゴンを {} 枚のタイルに追加しました。クリーンラベルがすでにあるタイルはそのままです。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Imagery</source>
        <translation>画像</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Tick the map layers that hold the (noisy) labels: vector maps or classified rasters. Later layers are burned over earlier ones.</source>
        <translation>（ノイジーな）ラベルを持つ地図レイヤ（ベクタ地図または分類済みラスタ）にチェックを入れてください。後のレイヤが前のレイヤの上に書き込まれます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Label layers</source>
        <translation>ラベルレイヤ</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Class field</source>
        <translation>クラスフィールド</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Read values</source>
        <translation>値を読み込む</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Merge</source>
        <translation>統合</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Add</source>
        <translation>追加</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Load…</source>
        <translation>読み込み…</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Save…</source>
        <translation>保存…</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Tile size</source>
        <translation>タイルサイズ</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>ignore (unknown, not trained on)</source>
        <translation>無視（不明として学習に使わない）</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>background (class 0)</source>
        <translation>背景（クラス 0）</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Pixels without a label</source>
        <translation>ラベルのないピクセル</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Datasets, runs, models and predictions are written here.</source>
        <translation>データセット、学習の実行、モデル、予測結果はここに書き出されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Work folder</source>
        <translation>作業フォルダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Export noisy dataset</source>
        <translation>ノイジーデータセットをエクスポート</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Dataset: {}</source>
        <translation>データセット：{}</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>No dataset exported yet.</source>
        <translation>データセットはまだエクスポートされていません。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Load classes</source>
        <translation>クラスを読み込む</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Save classes</source>
        <translation>クラスを保存</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Pick the imagery layer.</source>
        <translation>画像レイヤを選択してください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Tick at least one label layer.</source>
        <translation>ラベルレイヤを 1 つ以上チェックしてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Choose a work folder.</source>
        <translation>作業フォルダを選択してください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>The filter of layer “{}” is ignored: the backend reads the whole file</source>
        <translation>レイヤ「{}」のフィルタは無視されます：バックエンドはファイル全体を読み込みます</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Replace the dataset in {}? Runs already trained on it are kept.</source>
        <translation>{} のデータセットを置き換えますか？ このデータセットで学習済みの実行は残ります。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Exporting the noisy dataset</source>
        <translation>ノイジーデータセットをエクスポートしています</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Dataset: {path} — {tiles} tiles (train {train}, val {val}, test {test}), {classes} classes</source>
        <translation>データセット：{path} — {tiles} タイル（学習 {train}、検証 {val}、テスト {test}）、{classes} クラス</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Transfer</source>
        <translation>引き継ぎ</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Freeze</source>
        <translation>固定</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>the pretrained one</source>
        <translation>事前学習済みのもの</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Decoder</source>
        <translation>デコーダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Epochs</source>
        <translation>エポック数</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Also train from scratch on the same tiles, for comparison</source>
        <translation>比較のため、同じタイルでゼロからも学習する</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Start fine-tuning</source>
        <translation>ファインチューニングを開始</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Open the clean-label layer and annotate tiles first (step 3).</source>
        <translation>先にクリーンラベルレイヤを開いてタイルをアノテーションしてください（ステップ 3）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Building the clean dataset from the tiles marked done</source>
        <translation>完了にしたタイルからクリーンデータセットを作成しています</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Fine-tuning on the clean tiles</source>
        <translation>クリーンタイルでファインチューニングしています</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Training from scratch on the same tiles</source>
        <translation>同じタイルでゼロから学習しています</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Evaluating the {} model</source>
        <translation>{} モデルを評価しています</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Exporting the fine-tuned model to ONNX</source>
        <translation>ファインチューニング済みモデルを ONNX にエクスポートしています</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>noisy: learn from the exported (noisy) masks. SimCLR: learn from the imagery alone, no labels. Both: SimCLR first, then the noisy masks.</source>
        <translation>noisy：エクスポートした（ノイジーな）マスクから学習します。SimCLR：ラベルを使わず画像だけから学習します。両方：SimCLR の後にノイジーなマスクで学習します。</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Method</source>
        <translation>手法</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Encoder</source>
        <translation>エンコーダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Width of the encoder&apos;s first layer: 64 is the standard ResNet; smaller trains faster on a CPU.</source>
        <translation>エンコーダの最初の層の幅：64 が標準の ResNet です。小さくすると CPU での学習が速くなります。</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Base width</source>
        <translation>基本の幅</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Start pretraining</source>
        <translation>事前学習を開始</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Resume selected run</source>
        <translation>選択した実行を再開</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Runs (the selected one is used by the next steps):</source>
        <translation>実行（選択したものが次のステップで使われます）：</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>complete</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>stopped, resumable</source>
        <translation>停止（再開可能）</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>not started</source>
        <translation>未開始</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Pretraining ({})</source>
        <translation>事前学習（{}）</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Exporting the model to ONNX</source>
        <translation>モデルを ONNX にエクスポートしています</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Whole image</source>
        <translation>画像全体</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Current map extent</source>
        <translation>現在の地図の表示領域</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Area</source>
        <translation>範囲</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Predict</source>
        <translation>予測</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Training curves:</source>
        <translation>学習曲線：</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>fine-tuned</source>
        <translation>ファインチューニング済み</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>pretrained</source>
        <translation>事前学習済み</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Train a model (steps 2 and 4) and pick the imagery (step 1) first.</source>
        <translation>先にモデルを学習し（ステップ 2 と 4）、画像を選択してください（ステップ 1）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>prediction {} ({})</source>
        <translation>予測 {}（{}）</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Predicting</source>
        <translation>予測しています</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>classes</source>
        <translation>クラス</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>disagrees with the old map</source>
        <translation>既存の地図との不一致</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>confidence</source>
        <translation>信頼度</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Show the backend log</source>
        <translation>バックエンドのログを表示</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>What the fine-tuning starts from. Automatic: the whole pretrained model when the classes and decoder are unchanged, else its encoder with a new decoder and head.</source>
        <translation>ファインチューニングの出発点です。自動：クラスとデコーダが同じなら事前学習済みモデル全体を、異なればそのエンコーダに新しいデコーダと出力層を組み合わせて使います。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>automatic (recommended)</source>
        <translation>自動（推奨）</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>encoder</source>
        <translation>エンコーダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>encoder and decoder</source>
        <translation>エンコーダとデコーダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>whole model</source>
        <translation>モデル全体</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>nothing: fine-tune all</source>
        <translation>なし：すべてをファインチューニング</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>the encoder</source>
        <translation>エンコーダ</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>noisy</source>
        <translation>ノイジーラベル</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>SimCLR</source>
        <translation>SimCLR</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>SimCLR, then noisy</source>
        <translation>SimCLR の後にノイジーラベル</translation>
    </message>
    <message>
        <location filename="../gui/steps/base.py"/>
        <source>Weight rare classes (for sparse objects such as buildings)</source>
        <translation>少数クラスに重みを付ける（建物など疎な対象向け）</translation>
    </message>
    <message>
        <location filename="../gui/steps/base.py"/>
        <source>Weights the loss by inverse class frequency, so that a class covering a few percent of the pixels is not ignored.</source>
        <translation>損失をクラス頻度の逆数で重み付けし、画素の数パーセントしか占めないクラスが無視されないようにします。</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>none (random)</source>
        <translation>なし（ランダム）</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>ImageNet (torchvision, downloaded once)</source>
        <translation>ImageNet（torchvision、初回のみダウンロード）</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>file…</source>
        <translation>ファイル…</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Start the encoder from pretrained ResNet weights instead of random ones: torchvision&apos;s ImageNet weights, or a torchvision or timm ResNet state dict (.pth) such as TorchGeo&apos;s SSL4EO-S12 ResNets. They fit base width 64 only (ImageNet sets it).</source>
        <translation>エンコーダをランダムな値ではなく事前学習済みの ResNet の重みから始めます：torchvision の ImageNet の重み、または TorchGeo の SSL4EO-S12 ResNet のような torchvision か timm の ResNet の state dict（.pth）。基本の幅 64 にしか合いません（ImageNet を選ぶと 64 になります）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Encoder weights</source>
        <translation>エンコーダの重み</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>PyTorch weights (*.pth *.pt)</source>
        <translation>PyTorch の重み (*.pth *.pt)</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Weights file</source>
        <translation>重みファイル</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Choose the encoder weights file (.pth), or no weights.</source>
        <translation>エンコーダの重みファイル（.pth）を選ぶか、重みなしにしてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Limit to polygons</source>
        <translation>ポリゴン内に限定</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>{step}: epoch {epoch} of {epochs}</source>
        <translation>{step}: エポック {epoch} / {epochs}</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>Finished: {}</source>
        <translation>完了: {}</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>about {} left</source>
        <translation>残り約 {}</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>{} s</source>
        <translation>{} 秒</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>{} min</source>
        <translation>{} 分</translation>
    </message>
    <message>
        <location filename="../gui/panel.py"/>
        <source>{:.1f} h</source>
        <translation>{:.1f} 時間</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Correct two kinds of tile. Check tiles are drawn at random over the image; the models are only scored on them, never trained on them. Training tiles are the ones the model learns from: let it suggest those it is least sure about, or select your own.</source>
        <translation>2 種類のタイルを修正します。検査タイルは画像全体から無作為に選ばれ、モデルはその上で評価されるだけで、学習には使われません。学習タイルはモデルが学習に使うタイルです。モデルが最も自信のないタイルを提案させるか、自分で選んでください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Draw check tiles</source>
        <translation>検査タイルを選ぶ</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Draws this many more check tiles at random, spread over the image (one per block in turn), among the tiles not used yet. Correct them like the others.</source>
        <translation>まだ使われていないタイルの中から、画像全体に散らばるように（ブロックごとに順番に）この数の検査タイルを無作為に追加します。他のタイルと同じように修正してください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>How many check tiles to draw</source>
        <translation>選ぶ検査タイルの数</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Suggest training tiles</source>
        <translation>学習タイルを提案</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Ranks tiles by the pretrained model&apos;s uncertainty: low confidence, or high disagreement with the noisy map. Check tiles and the noisy dataset&apos;s test tiles are never suggested.</source>
        <translation>事前学習モデルの不確かさでタイルを順位付けします（確信度が低い、またはノイズありの地図との不一致が大きい）。検査タイルとノイズありデータセットのテストタイルは提案されません。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>How many training tiles to suggest</source>
        <translation>提案する学習タイルの数</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Mark done</source>
        <translation>完了にする</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Mark not done</source>
        <translation>未完了にする</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>The selected tiles, or else the tile shown</source>
        <translation>選択したタイル、なければ表示中のタイル</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Tile by tile: each tile to correct is zoomed to and outlined; its noisy labels are prefilled. Every edit is saved to the GeoPackage as it is made; Undo takes the last one back.</source>
        <translation>タイルごとに: 修正する各タイルにズームして輪郭を表示し、ノイズありラベルを事前入力します。編集は行うたびに GeoPackage に保存されます。「元に戻す」で最後の編集を取り消せます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>◀ Previous</source>
        <translation>◀ 前へ</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Next ▶</source>
        <translation>次へ ▶</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Done, next</source>
        <translation>完了して次へ</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Undo</source>
        <translation>元に戻す</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Takes back the last edit of the clean labels (it was saved as it was made).</source>
        <translation>クリーンラベルの最後の編集を取り消します（編集は行った時点で保存されています）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Set the class of the selected polygons (or press its number):</source>
        <translation>選択したポリゴンのクラスを設定（番号キーでも可）:</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>No edit of the clean labels to undo.</source>
        <translation>取り消せるクリーンラベルの編集はありません。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Training tiles done: {train} · check tiles done: {check} of {checks} (of {tiles} tiles)</source>
        <translation>学習タイル完了: {train} · 検査タイル完了: {check} / {checks}（全 {tiles} タイル）</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Draw and correct check tiles before the first fine-tune: the models are scored on them.</source>
        <translation>最初のファインチューニングの前に検査タイルを選んで修正してください。モデルはその上で評価されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>No tile is left to draw as a check tile.</source>
        <translation>検査タイルとして選べるタイルが残っていません。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Drew {} check tiles at random over the image and prefilled them; correct them tile by tile (Next ▶).</source>
        <translation>画像全体から無作為に {} 個の検査タイルを選び、事前入力しました。タイルごとに修正してください（次へ ▶）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Suggested {} training tiles (check tiles and test tiles left out); prefill and correct them tile by tile.</source>
        <translation>{} 個の学習タイルを提案しました（検査タイルとテストタイルは除外）。事前入力してタイルごとに修正してください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Select tiles on the “tiles” layer first (or press Suggest training tiles).</source>
        <translation>先に「tiles」レイヤでタイルを選択してください（または「学習タイルを提案」を押してください）。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Every tile in the list is done.</source>
        <translation>一覧のタイルはすべて完了しました。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>No tile to correct yet: draw check tiles or suggest training tiles first.</source>
        <translation>修正するタイルがまだありません。先に検査タイルを選ぶか、学習タイルを提案させてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>check tile</source>
        <translation>検査タイル</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>training tile</source>
        <translation>学習タイル</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>done</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>to do</source>
        <translation>未完了</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Tile {n} of {total}: {tile} ({kind}, {state})</source>
        <translation>タイル {n} / {total}: {tile}（{kind}、{state}）</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Sets class {} on the selected clean polygons (key {})</source>
        <translation>選択したクリーンポリゴンにクラス {} を設定します（キー {}）</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Sets class {} on the selected clean polygons</source>
        <translation>選択したクリーンポリゴンにクラス {} を設定します</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Select polygons on the clean-label layer first.</source>
        <translation>先にクリーンラベルレイヤでポリゴンを選択してください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/annotate.py"/>
        <source>Set the class of {} polygons</source>
        <translation>{} 個のポリゴンのクラスを設定</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>black</source>
        <translation>黒</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>white</source>
        <translation>白</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>a {} border ({:.0%} of the pixels) treated as nodata; choose “none” to keep it</source>
        <translation>{} の縁（画素の {:.0%}）を nodata として扱います。残すには「なし」を選んでください</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>pixels of value {:g} in every band are nodata (set here)</source>
        <translation>全バンドで値 {:g} の画素が nodata です（ここで設定）</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>none: every pixel is data (set here)</source>
        <translation>なし: すべての画素がデータです（ここで設定）</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>the file&apos;s nodata tag, value {:g}</source>
        <translation>ファイルの nodata タグ、値 {:g}</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>the file&apos;s alpha band</source>
        <translation>ファイルのアルファバンド</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>the file&apos;s nodata mask</source>
        <translation>ファイルの nodata マスク</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>none: the file tags no nodata and has no black or white border</source>
        <translation>なし: ファイルに nodata タグがなく、黒や白の縁もありません</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>the file&apos;s alpha band or mask, or none</source>
        <translation>ファイルのアルファバンドまたはマスク、またはなし</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Set from the imagery when it is chosen: the largest size that gives at least {} whole tiles, so that there are tiles to train on, to check and to test.</source>
        <translation>画像を選ぶと設定されます: 整数タイルが {} 個以上になる最大のサイズで、学習・検査・テスト用のタイルが確保されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>automatic</source>
        <translation>自動</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>none: every pixel is data</source>
        <translation>なし: すべての画素がデータ</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>this value:</source>
        <translation>この値:</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Automatic: the file&apos;s nodata, alpha band or mask; without any, a black or white border touching the edge (more than 1 % of the pixels) is taken as nodata. Passed as --nodata to export, suggest and predict.</source>
        <translation>自動: ファイルの nodata、アルファバンドまたはマスク。いずれもなければ、端に接する黒または白の縁（画素の 1 % 超）を nodata とみなします。export、suggest、predict に --nodata として渡されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Nodata</source>
        <translation>Nodata</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>In the exported dataset: {}</source>
        <translation>エクスポートしたデータセット: {}</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Detected: {}</source>
        <translation>検出: {}</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>{} whole tiles on the imagery ({} × {} px)</source>
        <translation>画像上の整数タイル {} 個（{} × {} px）</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>Exported {tiles} tiles ({train} train, {val} val, {test} test)</source>
        <translation>{tiles} タイルをエクスポートしました（学習 {train}、検証 {val}、テスト {test}）</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Scores on the check tiles appear here after fine-tuning.</source>
        <translation>ファインチューニング後、検査タイルでのスコアがここに表示されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Correct and mark done at least one training tile (suggested or selected) first.</source>
        <translation>先に学習タイル（提案または選択）を少なくとも 1 つ修正して完了にしてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Correct and mark done some check tiles first (Draw check tiles, step 3): the models are scored on them, and only on them.</source>
        <translation>先に検査タイルを修正して完了にしてください（検査タイルを選ぶ、ステップ 3）。モデルは検査タイルでのみ評価されます。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Training curve: fine-tuning (running)</source>
        <translation>学習曲線: ファインチューニング（実行中）</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Training curve: from scratch (running)</source>
        <translation>学習曲線: スクラッチ学習（実行中）</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Training curve: from scratch</source>
        <translation>学習曲線: スクラッチ学習</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Training curve: fine-tuning</source>
        <translation>学習曲線: ファインチューニング</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>On {tiles} check tiles ({pixels:,} labelled pixels), never trained on.</source>
        <translation>検査タイル {tiles} 個（ラベル付き画素 {pixels:,}）、学習には未使用。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>the model trained from scratch</source>
        <translation>スクラッチから学習したモデル</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>the pretrained model alone</source>
        <translation>事前学習のみのモデル</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Fine-tuned beats {} by {:.2f} mIoU{}.</source>
        <translation>ファインチューニング済みは {} より mIoU が {:.2f} 高い{}。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Fine-tuned is worse than {} by {:.2f} mIoU{}.</source>
        <translation>ファインチューニング済みは {} より mIoU が {:.2f} 低い{}。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>The check tiles cannot tell fine-tuned and {} apart (difference {:+.2f}{}); correct more check tiles to find out.</source>
        <translation>検査タイルではファインチューニング済みと {} を区別できません（差 {:+.2f}{}）。検査タイルを増やして確かめてください。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Fine-tuning finished.</source>
        <translation>ファインチューニングが終了しました。</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Fine-tuned: check mIoU {:.2f}{}</source>
        <translation>ファインチューニング済み: 検査 mIoU {:.2f}{}</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>{} {:.2f}</source>
        <translation>{} {:.2f}</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source> vs </source>
        <translation> 対 </translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Show where it disagrees with the old map</source>
        <translation>旧地図との不一致を表示</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Adds a layer of the pixels where the prediction and the first label layer of step 1 differ.</source>
        <translation>予測とステップ 1 の最初のラベルレイヤが異なる画素のレイヤを追加します。</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Scores on the check tiles (step 4):</source>
        <translation>検査タイルでのスコア（ステップ 4）:</translation>
    </message>
    <message>
        <location filename="../gui/steps/predict.py"/>
        <source>Predicted {}: {} layers added to the group “{}”</source>
        <translation>{} を予測: {} 個のレイヤをグループ「{}」に追加</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>training, epoch {} of {}</source>
        <translation>学習中、エポック {} / {}</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>starting</source>
        <translation>開始中</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>Pretrained {name} ({epochs} epochs)</source>
        <translation>{name} を事前学習しました（{epochs} エポック）</translation>
    </message>
    <message>
        <location filename="../gui/steps/pretrain.py"/>
        <source>, mIoU {:.2f} against the old map on its validation tiles</source>
        <translation>、検証タイルでの旧地図に対する mIoU {:.2f}</translation>
    </message>
    <message>
        <location filename="../gui/steps/finetune.py"/>
        <source>Under each score: its 90 % interval, by resampling the check tiles.</source>
        <translation>各スコアの下: 検査タイルの再標本化による 90 % 区間。</translation>
    </message>
    <message>
        <location filename="../gui/steps/data.py"/>
        <source>The file declares no nodata: export looks for a black or white border around the image and reports it here.</source>
        <translation>ファイルには nodata の指定がありません。エクスポート時に画像周囲の黒または白の縁を検出し、ここに結果を表示します。</translation>
    </message>
</context>
<context>
    <name>NoisySegPlugin</name>
    <message>
        <location filename="../plugin.py"/>
        <source>&amp;Noisy labels segmentation</source>
        <translation>ノイジーラベル セグメンテーション(&amp;N)</translation>
    </message>
    <message>
        <location filename="../plugin.py"/>
        <source>Check backend environment</source>
        <translation>バックエンド環境を確認</translation>
    </message>
    <message>
        <location filename="../plugin.py"/>
        <source>Checking the noisyseg backend</source>
        <translation>noisyseg のバックエンドを確認しています</translation>
    </message>
    <message>
        <location filename="../plugin.py"/>
        <source>Backend not usable: {}</source>
        <translation>バックエンドを使用できません：{}</translation>
    </message>
    <message>
        <location filename="../plugin.py"/>
        <source>Backend ready: Python {python}, torch {torch}, device {device}, onnxruntime {ort}, qgis_noisyseg {version}</source>
        <translation>バックエンドの準備ができました：Python {python}、torch {torch}、デバイス {device}、onnxruntime {ort}、qgis_noisyseg {version}</translation>
    </message>
    <message>
        <location filename="../plugin.py"/>
        <source>Noisy labels segmentation panel</source>
        <translation>ノイジーラベル セグメンテーション パネル</translation>
    </message>
</context>
<context>
    <name>NoisySegRender</name>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Give the ground resolution to render the layer at (map units per pixel)</source>
        <translation>レイヤを描画する地上解像度を指定してください（地図単位/ピクセル）</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Give the extent to render the layer over</source>
        <translation>レイヤを描画する範囲を指定してください</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Rendering {} × {} pixels is too large; choose a smaller extent or a coarser resolution</source>
        <translation>{} × {} ピクセルの描画は大きすぎます。範囲を小さくするか解像度を粗くしてください</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Layer “{}” has no data provider to render</source>
        <translation>レイヤ「{}」には描画できるデータプロバイダがありません</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Layer “{}” cannot be rendered (its provider does not fit QGIS's raster pipe)</source>
        <translation>レイヤ「{}」は描画できません（プロバイダがQGISのラスタパイプに合いません）</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Rendering “{}” was cancelled</source>
        <translation>「{}」の描画はキャンセルされました</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Rendering “{}” failed ({}); check the layer draws on the map over that extent</source>
        <translation>「{}」の描画に失敗しました（{}）。その範囲で地図上にレイヤが表示されるか確認してください</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Rendering {}</source>
        <translation>{} を描画中</translation>
    </message>
    <message>
        <location filename="../bridge/render_layer.py"/>
        <source>Rendering was cancelled</source>
        <translation>描画はキャンセルされました</translation>
    </message>
</context>
<context>
    <name>NoisySegSetup</name>
    <message>
        <location filename="../gui/setup_task.py"/>
        <source>Setting up the noisyseg backend</source>
        <translation>noisyseg のバックエンドをセットアップしています</translation>
    </message>
    <message>
        <location filename="../gui/setup_task.py"/>
        <source>requirements.txt is missing from the plugin folder {}</source>
        <translation>プラグインフォルダ {} に requirements.txt がありません</translation>
    </message>
    <message>
        <location filename="../gui/setup_task.py"/>
        <source>could not run {} ({})</source>
        <translation>{} を実行できませんでした（{}）</translation>
    </message>
    <message>
        <location filename="../gui/setup_task.py"/>
        <source>{} failed (exit {}): {}</source>
        <translation>{} が失敗しました（終了コード {}）：{}</translation>
    </message>
</context>
<context>
    <name>NoisySegVectors</name>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Only the tiles that meet these polygons (any CRS) are computed; pixels outside them are nodata.</source>
        <translation>これらのポリゴン（任意のCRS）と交わるタイルだけを計算し、外側のピクセルはnodataになります。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Limit to polygons</source>
        <translation>ポリゴン内に限定</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Also write the classes as polygons (GeoPackage)</source>
        <translation>クラスをポリゴンとしても書き出す（GeoPackage）</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Simplified to about a pixel; polygons and holes under 4 pixels dropped; mean confidence per polygon.</source>
        <translation>約1ピクセルで単純化し、4ピクセル未満のポリゴンと穴は除去、ポリゴンごとに平均信頼度を付けます。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>List the old map&apos;s polygons that changed</source>
        <translation>旧地図の変化したポリゴンを一覧にする</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>For every polygon of the first label layer: its old class, the predicted class and share, the mean confidence; confident changes first.</source>
        <translation>最初のラベルレイヤの各ポリゴンについて：旧クラス、予測クラスとその割合、平均信頼度。確信度の高い変化が先頭です。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Zoom to next change</source>
        <translation>次の変化にズーム</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>The map-change list needs a vector label layer (step 1).</source>
        <translation>地図の変化一覧にはベクタのラベルレイヤが必要です（ステップ1）。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Comparing with the old map</source>
        <translation>旧地図と比較しています</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>classes (polygons)</source>
        <translation>クラス（ポリゴン）</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>changes in the old map</source>
        <translation>旧地図の変化</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>QGIS cannot open {}</source>
        <translation>QGISで {} を開けません</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>{changed} of {compared} polygons changed</source>
        <translation>{compared} 個中 {changed} 個のポリゴンが変化</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>No polygon changed</source>
        <translation>変化したポリゴンはありません</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Change {n} of {total}: {old} → {new} ({share:.0%} of the polygon, confidence {confidence})</source>
        <translation>変化 {n} / {total}：{old} → {new}（ポリゴンの {share:.0%}、信頼度 {confidence}）</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>This layer is not a file: render it first</source>
        <translation>このレイヤはファイルではありません：先に描画してください</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Drawn over the current map extent into a GeoTIFF (RGB 8-bit) in the work folder, which export and predict then read.</source>
        <translation>現在の地図範囲を作業フォルダ内のGeoTIFF（RGB 8ビット）に描画し、エクスポートと予測はそのファイルを読みます。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>WMS, WMTS, XYZ, memory and virtual layers are rendered through QGIS&apos;s raster pipe, in blocks. The licence and terms of use of a basemap are yours to respect.</source>
        <translation>WMS、WMTS、XYZ、メモリ、仮想レイヤはQGISのラスタパイプでブロックごとに描画されます。背景地図のライセンスと利用規約の遵守は利用者の責任です。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Ground resolution</source>
        <translation>地上解像度</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source> m/px</source>
        <translation> m/ピクセル</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Render to GeoTIFF</source>
        <translation>GeoTIFFに描画</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Choose a work folder.</source>
        <translation>作業フォルダを選んでください。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Set the project to a projected CRS (metres) to render at a ground resolution.</source>
        <translation>地上解像度で描画するには、プロジェクトを投影座標系（メートル）にしてください。</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Rendering “{}” into {} (progress and Cancel in QGIS's task bar)</source>
        <translation>「{}」を {} に描画しています（進捗とキャンセルはQGISのタスクバーにあります）</translation>
    </message>
    <message>
        <location filename="../gui/vector_results.py"/>
        <source>Rendered {w} × {h} pixels; the imagery is now {path}</source>
        <translation>{w} × {h} ピクセルを描画しました。画像は {path} になりました</translation>
    </message>
    <message>
        <location filename="../bridge/aoi_layer.py"/>
        <source>Layer “{}” has no polygons to use as the area of interest</source>
        <translation>レイヤー「{}」には対象範囲として使えるポリゴンがありません</translation>
    </message>
    <message>
        <location filename="../bridge/aoi_layer.py"/>
        <source>Layer “{}” could not be written for the backend: {}</source>
        <translation>レイヤー「{}」をバックエンド用に書き出せませんでした: {}</translation>
    </message>
</context>
</TS>
