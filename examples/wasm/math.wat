;; math.wasm: a plain core module (no component metadata) with integer functions.
;; Every parameter and result is an i32, so a task's `args` are JSON integers.
(module
  ;; a + 1
  (func (export "add_one") (param $a i32) (result i32)
    (i32.add (local.get $a) (i32.const 1)))
  ;; a * 2
  (func (export "double") (param $a i32) (result i32)
    (i32.mul (local.get $a) (i32.const 2)))
  ;; a + b
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))
  ;; a / b, rounded towards zero; traps ("divide by zero") when b is 0
  (func (export "divide") (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))
)
