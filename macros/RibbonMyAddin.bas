Attribute VB_Name = "RibbonMyAddin"
' The VBA the ribbon button calls, as it ships in xlwings' ribbon add-in template
' (quickstart_addin_ribbon.xlam) and therefore in xlcrm.xlam. It is kept here as text
' so it can be read and reviewed; `xlcrm build-addin` does not edit the binary VBA project.
'
' The add-in is named xlcrm.xlam, so `mymodule` is "xlcrm" and the button runs
' `import xlcrm; xlcrm.main()`.

Sub RunMain(control As IRibbonControl)
    mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))
    RunPython "import " & mymodule & ";" & mymodule & ".main()"
End Sub
